"""The database corpus retriever: ranked full-text search behind LangChain's BaseRetriever."""

from __future__ import annotations

from langchain_core.retrievers import BaseRetriever
from sqlalchemy.orm import Session, sessionmaker

from introspect.retrieval import CorpusRetriever, passages_from_documents
from introspect.store.engine import transaction
from introspect.store.repositories import corpora


def seed(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        alps = corpora.get_or_create_corpus(session, "mountains")
        corpora.add_documents(
            session,
            alps,
            [
                {
                    "title": "Everest",
                    "content": "Mount Everest is the highest mountain on Earth.",
                    "metadata": {"src": "a"},
                },
                {"title": "K2", "content": "K2 is the second highest mountain."},
                {"title": "Baking", "content": "Bread needs flour, water and yeast."},
            ],
        )
        other = corpora.get_or_create_corpus(session, "other")
        corpora.add_documents(session, other, [{"content": "The highest mountain in the other corpus."}])


def test_ranked_search_in_one_corpus(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory)
    retriever = CorpusRetriever(session_factory=session_factory, corpus="mountains", k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("highest mountain Everest")
    assert [d.metadata["title"] for d in docs] == ["Everest", "K2"]
    assert docs[0].metadata["corpus"] == "mountains" and docs[0].metadata["src"] == "a"
    assert docs[0].metadata["score"] >= docs[1].metadata["score"]
    passages = passages_from_documents(docs)
    assert passages[0] == {
        "title": "Everest",
        "content": "Mount Everest is the highest mountain on Earth.",
        "score": docs[0].metadata["score"],
        "document_id": docs[0].metadata["document_id"],
        "source": "mountains",
    }


def test_no_match_and_unknown_corpus(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory)
    assert CorpusRetriever(session_factory=session_factory, corpus="mountains").invoke("submarine") == []
    assert CorpusRetriever(session_factory=session_factory, corpus="missing").invoke("mountain") == []
    assert CorpusRetriever(session_factory=session_factory, corpus="mountains").invoke("?!") == []


def test_questions_match_passages_covering_some_of_their_words(
    session_factory: sessionmaker[Session],
) -> None:
    seed(session_factory)
    retriever = CorpusRetriever(session_factory=session_factory, corpus="mountains")
    docs = retriever.invoke("Which mountain is the second highest one on the planet?")
    assert [d.metadata["title"] for d in docs][:2] == ["K2", "Everest"]

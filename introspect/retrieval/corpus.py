"""A LangChain retriever over the corpora stored in our database.

Postgres ranks with ``ts_rank_cd`` over ``websearch_to_tsquery``; embedded SQLite with FTS5's bm25
(``store.repositories.corpora.search_documents`` hides the difference). Being a ``BaseRetriever``,
it can be swapped for any other LangChain retriever (vector stores, web search) through
``RunnerDeps.retriever_factory``; the graph only ever sees the interface.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.repositories.corpora import search_documents

_WORD = re.compile(r"\w+", re.UNICODE)


def any_word_query(text: str) -> str:
    """A question as a ``websearch_to_tsquery`` OR-query of its words.

    websearch syntax ANDs bare words, so a whole question would only match passages containing every
    one of its words; ORed, ``ts_rank_cd`` ranks passages by how much of the question they cover --
    the same semantics as the FTS5 side, whose query builder ORs the words already.
    """
    return " or ".join(_WORD.findall(text)[:32])


class CorpusRetriever(BaseRetriever):
    """The best ``k`` passages of one named corpus for a free-text query."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_factory: sessionmaker[Session]
    corpus: str
    k: int = 4

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        # Read-only and short: its own session, never the job's write transaction.
        with self.session_factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                query = any_word_query(query)
            hits = search_documents(session, self.corpus, query, k=self.k)
        return [
            Document(
                page_content=hit.content,
                metadata={
                    "document_id": hit.document_id,
                    "title": hit.title,
                    "score": hit.score,
                    "corpus": self.corpus,
                    **hit.meta,
                },
            )
            for hit in hits
        ]


def passages_from_documents(documents: list[Document]) -> list[dict[str, Any]]:
    """JSON-ready passages, as recorded on the turn and shown in the revise prompt."""
    return [
        {
            "title": str(doc.metadata.get("title") or ""),
            "content": doc.page_content,
            "score": doc.metadata.get("score"),
            "document_id": doc.metadata.get("document_id"),
            "source": doc.metadata.get("corpus") or doc.metadata.get("source"),
        }
        for doc in documents
    ]

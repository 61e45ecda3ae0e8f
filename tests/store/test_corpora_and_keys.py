"""Full-text search (tsvector / FTS5) and hashed API keys, on both backends."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import api_keys, corpora
from introspect.store.tables import ApiKey


def test_search_ranks_matching_documents(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        corpus = corpora.get_or_create_corpus(s, "facts")
        corpora.add_documents(
            s,
            corpus,
            [
                {"title": "Paris", "content": "Paris is the capital of France."},
                {"title": "Berlin", "content": "Berlin is the capital of Germany. Germany borders France."},
                {"title": "Cooking", "content": "Boil pasta in salted water."},
            ],
        )
        other = corpora.get_or_create_corpus(s, "other")
        corpora.add_documents(s, other, [{"content": "France France France capital"}])
    with transaction(session_factory) as s:
        hits = corpora.search_documents(s, "facts", "capital of France", k=5)
        assert [h.title for h in hits][:1] == ["Paris"]
        assert {h.title for h in hits} <= {"Paris", "Berlin"}
        assert corpora.search_documents(s, "facts", "pasta")[0].title == "Cooking"
        assert corpora.search_documents(s, "facts", '"); DROP TABLE documents; --') == []
        assert corpora.get_or_create_corpus(s, "facts").id == corpus.id


def test_api_keys_are_hashed_and_verified(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        issued = api_keys.create_api_key(s, "ci")
    with transaction(session_factory) as s:
        stored = s.get(ApiKey, issued.record.id)
        assert stored is not None and issued.plaintext not in stored.key_hash
        assert api_keys.verify_api_key(s, issued.plaintext) is not None
        assert api_keys.verify_api_key(s, issued.plaintext + "x") is None
        assert api_keys.verify_api_key(s, "nope") is None
        assert api_keys.has_api_keys(s)

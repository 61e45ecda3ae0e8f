"""Corpora and documents, with ranked full-text search on either backend."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from introspect.store.dialect_insert import insert_for
from introspect.store.fts import fts5_query
from introspect.store.tables import Corpus, Document


@dataclass(frozen=True)
class SearchHit:
    document_id: int
    title: str
    content: str
    score: float
    meta: dict[str, Any]


def get_or_create_corpus(session: Session, name: str) -> Corpus:
    # ON CONFLICT DO NOTHING: two concurrent uploads to a new corpus both succeed.
    stmt = insert_for(session, Corpus.__table__).values(id=uuid.uuid4(), name=name)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return session.scalars(select(Corpus).where(Corpus.name == name)).one()


def get_corpus(session: Session, name: str) -> Corpus | None:
    return session.scalars(select(Corpus).where(Corpus.name == name)).first()


def add_documents(session: Session, corpus: Corpus, docs: Sequence[dict[str, Any]]) -> list[Document]:
    rows = [
        Document(
            corpus_id=corpus.id,
            title=d.get("title") or "",
            content=d["content"],
            meta=d.get("metadata") or {},
        )
        for d in docs
    ]
    session.add_all(rows)
    session.flush()
    return rows


def search_documents(session: Session, corpus_name: str, query: str, k: int = 4) -> list[SearchHit]:
    """Best k passages: ts_rank_cd over websearch_to_tsquery on Postgres, bm25 over FTS5 on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        sql = text(
            """
            SELECT d.id, d.title, d.content, d.metadata,
                   ts_rank_cd(d.search_tsv, q) AS score
            FROM documents d
            JOIN corpora c ON c.id = d.corpus_id,
                 websearch_to_tsquery('english', :query) q
            WHERE c.name = :corpus AND d.search_tsv @@ q
            ORDER BY score DESC, d.id
            LIMIT :k
            """
        )
        rows = session.execute(sql, {"query": query, "corpus": corpus_name, "k": k}).all()
        return [_hit(r, float(r.score)) for r in rows]
    match = fts5_query(query)
    if match is None:
        return []
    sql = text(
        """
        SELECT d.id, d.title, d.content, d.metadata, bm25(documents_fts) AS score
        FROM documents_fts
        JOIN documents d ON d.id = documents_fts.rowid
        JOIN corpora c ON c.id = d.corpus_id
        WHERE documents_fts MATCH :match AND c.name = :corpus
        ORDER BY score, d.id
        LIMIT :k
        """
    )
    rows = session.execute(sql, {"match": match, "corpus": corpus_name, "k": k}).all()
    # bm25() is lower-is-better; negate so callers always see higher-is-better scores.
    return [_hit(r, -float(r.score)) for r in rows]


def _hit(row: Any, score: float) -> SearchHit:
    meta = row.metadata
    if isinstance(meta, str):  # raw SQL on SQLite returns the JSON text
        meta = json.loads(meta)
    return SearchHit(
        document_id=int(row.id), title=row.title, content=row.content, score=score, meta=meta or {}
    )

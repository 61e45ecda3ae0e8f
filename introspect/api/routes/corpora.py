"""/v1/corpora/{name}/documents: add passages that the retrieve node can search; /v1/corpora/{name}:
the corpus and its size."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy import func, select

from introspect.api.deps import CallerDep, SessionFactoryDep
from introspect.api.openapi_examples import example
from introspect.api.routes.jobs import ERRORS
from introspect.api.schemas import CorpusResource, DocumentsCreated, DocumentsRequest
from introspect.api.services.jobs import NotFoundError
from introspect.store.engine import transaction
from introspect.store.repositories import corpora
from introspect.store.tables import Document

router = APIRouter(prefix="/corpora", tags=["corpora"])

CorpusName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="Corpus name")]


@router.post(
    "/{name}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentsCreated,
    responses={**ERRORS, **example({"corpus": "facts", "document_ids": [1, 2]}, status=201)},
)
def add_documents(
    name: CorpusName,
    body: DocumentsRequest,
    response: Response,
    _caller: CallerDep,
    factory: SessionFactoryDep,
) -> DocumentsCreated:
    with transaction(factory) as session:
        corpus = corpora.get_or_create_corpus(session, name)
        rows = corpora.add_documents(session, corpus, [d.model_dump() for d in body.documents])
        ids = [r.id for r in rows]
    response.headers["Location"] = f"/v1/corpora/{name}"
    return DocumentsCreated(corpus=name, document_ids=ids)


@router.get(
    "/{name}",
    response_model=CorpusResource,
    responses={**ERRORS, **example({"name": "facts", "documents": 2, "created_at": "2026-12-03T19:00:00Z"})},
)
def get_corpus(name: CorpusName, _caller: CallerDep, factory: SessionFactoryDep) -> CorpusResource:
    with transaction(factory) as session:
        corpus = corpora.get_corpus(session, name)
        if corpus is None:
            raise NotFoundError(f"corpus {name!r} not found")
        count = session.scalar(select(func.count()).where(Document.corpus_id == corpus.id)) or 0
        return CorpusResource(name=corpus.name, documents=int(count), created_at=corpus.created_at)

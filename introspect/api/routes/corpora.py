"""/v1/corpora/{name}/documents: add passages that the retrieve node can search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from introspect.api.deps import CallerDep, SessionFactoryDep
from introspect.api.routes.jobs import ERRORS
from introspect.api.schemas import DocumentsCreated, DocumentsRequest
from introspect.store.engine import transaction
from introspect.store.repositories import corpora

router = APIRouter(prefix="/corpora", tags=["corpora"])

CorpusName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="Corpus name")]


@router.post(
    "/{name}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentsCreated,
    responses=ERRORS,
)
def add_documents(
    name: CorpusName, body: DocumentsRequest, _caller: CallerDep, factory: SessionFactoryDep
) -> DocumentsCreated:
    with transaction(factory) as session:
        corpus = corpora.get_or_create_corpus(session, name)
        rows = corpora.add_documents(session, corpus, [d.model_dump() for d in body.documents])
        ids = [r.id for r in rows]
    return DocumentsCreated(corpus=name, document_ids=ids)

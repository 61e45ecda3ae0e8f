"""The OpenAI-compatible face: ``/v1/models`` lists the graphs as models, ``/v1/chat/completions``
(and ``/v1/responses``, without streaming) runs one as a job. Sits on the job services; imports no
other face."""

from __future__ import annotations

from fastapi import APIRouter

from introspect.openai_face import responses, routes

router = APIRouter()
router.include_router(routes.router)
router.include_router(responses.router)

__all__ = ["router"]

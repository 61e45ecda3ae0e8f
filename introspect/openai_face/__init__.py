"""The OpenAI-compatible face: ``/v1/models`` lists the graphs as models and
``/v1/chat/completions`` runs one as a job. Sits on the job services; imports no other face."""

from __future__ import annotations

from introspect.openai_face.routes import router

__all__ = ["router"]

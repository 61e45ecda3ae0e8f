"""Server-side end of admin sessions: a logged-out session id is kept until its cookie expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from introspect.store.dialect_insert import insert_for
from introspect.store.tables import AdminSessionRevocation
from introspect.store.types import utcnow


def revoke_session(session: Session, session_id: str, expires_at: datetime) -> None:
    # Rows past their expiry protect nothing (the cookie is refused as expired): drop them here.
    session.execute(delete(AdminSessionRevocation).where(AdminSessionRevocation.expires_at < utcnow()))
    row = {"session_id": session_id, "expires_at": expires_at}
    session.execute(insert_for(session, AdminSessionRevocation).values(row).on_conflict_do_nothing())


def is_revoked(session: Session, session_id: str) -> bool:
    found = session.scalar(
        select(AdminSessionRevocation.session_id).where(AdminSessionRevocation.session_id == session_id)
    )
    return found is not None

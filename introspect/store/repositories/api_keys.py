"""API keys: generated once, shown once, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from introspect.store.tables import ApiKey
from introspect.store.types import utcnow

KEY_PREFIX = "isk_"


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    plaintext: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> IssuedKey:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name, prefix=plaintext[:12], key_hash=hash_key(plaintext))
    session.add(record)
    session.flush()
    return IssuedKey(record=record, plaintext=plaintext)


def verify_api_key(session: Session, plaintext: str) -> ApiKey | None:
    """Find the key by its public prefix, then compare hashes with ``hmac.compare_digest``."""
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    candidates = session.scalars(
        select(ApiKey).where(ApiKey.prefix == plaintext[:12], ApiKey.revoked_at.is_(None))
    ).all()
    digest = hash_key(plaintext)
    for record in candidates:
        if hmac.compare_digest(record.key_hash, digest):
            return record
    return None


def touch_api_key(session: Session, record: ApiKey) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == record.id).values(last_used_at=utcnow()))


def has_api_keys(session: Session) -> bool:
    return session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None

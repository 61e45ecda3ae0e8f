"""Bearer API keys: bootstrap keys from settings and hashed keys from the database.

With no key configured anywhere the API is open, but only while bound to a loopback address (the
serve command refuses any other address in that case; this check is the second line of defence).
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from introspect.config import Settings
from introspect.store.engine import transaction
from introspect.store.repositories.api_keys import has_api_keys, hash_key, verify_api_key


@dataclass(frozen=True)
class Caller:
    """Who is calling: ``key_id`` is None for bootstrap keys and anonymous loopback use."""

    key_id: uuid.UUID | None
    rate_key: str
    anonymous: bool = False


class AuthError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    # How long "are there any keys in the database?" is cached: avoids a query per request while
    # making a freshly created key take effect within seconds.
    KEYS_PRESENT_TTL = 5.0

    def __init__(self, settings: Settings, factory: sessionmaker[Session], bound_host: str) -> None:
        self._bootstrap = [hash_key(k.get_secret_value()) for k in settings.api_keys]
        self._factory = factory
        self._bound_host = bound_host
        self._keys_present: tuple[float, bool] | None = None
        self._lock = threading.Lock()

    @property
    def bootstrap_hashes(self) -> tuple[str, ...]:
        """SHA-256 of each configured key: what admin sessions of bootstrap keys are bound to."""
        return tuple(self._bootstrap)

    def _cached_keys_present(self) -> bool | None:
        """Whether keys are stored, as last read within the TTL; None: not known without a read."""
        with self._lock:
            cached = self._keys_present
        if cached is not None and time.monotonic() - cached[0] < self.KEYS_PRESENT_TTL:
            return cached[1]
        return None

    def _db_has_keys(self) -> bool:
        cached = self._cached_keys_present()
        if cached is not None:
            return cached
        now = time.monotonic()
        with transaction(self._factory) as session:
            present = has_api_keys(session)
        with self._lock:
            self._keys_present = (now, present)
        return present

    def auth_required(self) -> bool:
        return bool(self._bootstrap) or self._db_has_keys()

    def authenticate(
        self, authorization: str | None, client_host: str | None, api_key: str | None = None
    ) -> Caller:
        """``api_key``: the ``x-api-key`` header (langgraph-sdk's spelling), used when there is no
        bearer token."""
        token = presented_key(authorization, api_key)
        required = self.auth_required()
        if token is None or self._placeholder(required):
            return self._anonymous(required, client_host)
        return self.check_key(token)

    def authenticate_from_memory(
        self, authorization: str | None, client_host: str | None, api_key: str | None = None
    ) -> Caller | None:
        """``authenticate`` when it needs no database read: the key table's state cached (or
        bootstrap keys configured) and no key to check. None: call ``authenticate`` (off the loop)."""
        required = True if self._bootstrap else self._cached_keys_present()
        if required is None:
            return None
        if presented_key(authorization, api_key) is None or self._placeholder(required):
            return self._anonymous(required, client_host)
        return None

    def _placeholder(self, auth_required: bool) -> bool:
        """Keyless loopback mode: OpenAI's client always sends a key (``api_key="none"``) and
        langgraph-sdk sends whatever LANGGRAPH_API_KEY holds, so with no key configured anywhere a
        presented key is served like no key instead of refused as unknown."""
        return not auth_required and is_loopback(self._bound_host)

    def _anonymous(self, auth_required: bool, client_host: str | None) -> Caller:
        if auth_required:
            raise AuthError("missing API key (Authorization: Bearer <key>, or x-api-key: <key>)")
        if not is_loopback(self._bound_host):
            raise AuthError("no API key configured: unauthenticated access is allowed on loopback only")
        return Caller(key_id=None, rate_key=f"anon:{client_host or '-'}", anonymous=True)

    def check_key(self, token: str) -> Caller:
        digest = hash_key(token)
        for i, known in enumerate(self._bootstrap):
            if hmac.compare_digest(known, digest):
                return Caller(key_id=None, rate_key=f"bootstrap:{i}")
        with transaction(self._factory) as session:
            record = verify_api_key(session, token)
            if record is None:
                raise AuthError("invalid API key")
            return Caller(key_id=record.id, rate_key=f"key:{record.id}")


def presented_key(authorization: str | None, api_key: str | None) -> str | None:
    """The key a request presents: the bearer token, else the ``x-api-key`` header."""
    token = _bearer(authorization)
    if token is None and api_key is not None and api_key.strip():
        token = api_key.strip()
    return token


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()

"""Live event fan-out over Redis pub/sub. Events are durable in the job_events table; Redis only
wakes SSE listeners early, so a publish failure is logged and ignored."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import redis

log = logging.getLogger(__name__)


def job_channel(job_id: uuid.UUID | str) -> str:
    return f"introspect:job:{job_id}"


class RedisNotifier:
    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)

    def __call__(self, job_id: uuid.UUID, event: dict[str, Any]) -> None:
        try:
            self._client.publish(job_channel(job_id), json.dumps(event, default=str))
        except redis.RedisError:
            log.debug("event publish for job %s skipped: Redis unavailable", job_id)

    def close(self) -> None:
        self._client.close()

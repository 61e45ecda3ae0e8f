"""The API's shared pub/sub connection: one subscription per job channel, every stream served, and
streams that fall back to the log while Redis is away and listen again once it is back."""

from __future__ import annotations

import asyncio
import json
import uuid

import redis.asyncio as aioredis

from introspect.api.event_hub import JobEventHub
from introspect.testing.servers import start_redis
from introspect.worker.notify import job_channel


async def _subscribers(client: aioredis.Redis, job_id: uuid.UUID) -> int:
    [(_, count)] = await client.pubsub_numsub(job_channel(job_id))
    return int(count)


def test_streams_of_one_job_share_its_channel_and_each_gets_every_event(redis_url: str) -> None:
    async def scenario() -> None:
        hub, client = JobEventHub(redis_url), aioredis.Redis.from_url(redis_url)
        job, other = uuid.uuid4(), uuid.uuid4()
        try:
            first, second, elsewhere = [await hub.subscribe(j) for j in (job, job, other)]
            assert first is not None and second is not None and elsewhere is not None
            assert await _subscribers(client, job) == 1  # one connection, one SUBSCRIBE
            # Confirmed subscriptions: a publish right after subscribe() returns is not missed.
            await client.publish(job_channel(job), json.dumps({"id": 1, "type": "status"}))
            assert await first.get(timeout=2) == {"id": 1, "type": "status"}
            assert await second.get(timeout=2) == {"id": 1, "type": "status"}
            assert await elsewhere.get(timeout=0.2) is None
            await first.close()
            assert await _subscribers(client, job) == 1  # the other stream still listens
            await second.close()
            for _ in range(100):  # UNSUBSCRIBE is sent, not awaited
                if await _subscribers(client, job) == 0:
                    break
                await asyncio.sleep(0.02)
            assert await _subscribers(client, job) == 0
        finally:
            await hub.aclose()
            await client.aclose()

    asyncio.run(scenario())


def test_a_lost_connection_breaks_subscriptions_off_and_a_new_one_listens_again() -> None:
    server = start_redis()

    async def scenario() -> None:
        hub, job = JobEventHub(server.url), uuid.uuid4()
        try:
            subscription = await hub.subscribe(job)
            assert subscription is not None
            server.stop()  # Redis goes away: the stream is told at once, not after its timeout
            assert await subscription.get(timeout=5) is None and subscription.broken
            assert await hub.subscribe(job) is None  # nothing to connect to: read the log
        finally:
            await hub.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    revived = start_redis(server.port)

    async def after_restart() -> None:
        hub, client, job = JobEventHub(revived.url), aioredis.Redis.from_url(revived.url), uuid.uuid4()
        try:
            subscription = await hub.subscribe(job)
            assert subscription is not None
            await client.publish(job_channel(job), json.dumps({"id": 7}))
            assert await subscription.get(timeout=2) == {"id": 7}
        finally:
            await hub.aclose()
            await client.aclose()

    try:
        asyncio.run(after_restart())
    finally:
        revived.stop()

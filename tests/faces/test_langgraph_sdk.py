"""The real langgraph-sdk client (sync and async) against the live app: assistants, threads,
runs.wait, runs.stream, an interrupt and its resume, cancel -- each run a job with its trajectory."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client
from langgraph_sdk.errors import AuthenticationError, NotFoundError

from tests.faces.conftest import ALWAYS_WRONG, HUMAN, RIGHT_SECOND, SLOW, TASK, serving


def test_sync_client_searches_waits_streams_and_shares_the_job(db_url: str) -> None:
    with serving(db_url, RIGHT_SECOND) as origin:
        client = get_sync_client(url=origin, api_key=None)
        assert httpx.get(f"{origin}/info").json()["flags"]["assistants"] is True
        assistants = client.assistants.search()
        assert {a["graph_id"] for a in assistants} == {"self_critique", "best_of_n"}
        by_uuid = client.assistants.get(assistants[0]["assistant_id"])
        assert by_uuid["graph_id"] == assistants[0]["graph_id"]
        schemas = client.assistants.get_schemas("self_critique")
        assert {"prompt", "messages", "reference", "verifier"} <= set(schemas["input_schema"]["properties"])
        assert "max_turns" in schemas["config_schema"]["properties"]
        assert {n["id"] for n in client.assistants.get_graph("self_critique")["nodes"]} >= {
            "generate",
            "gate",
        }
        with pytest.raises(NotFoundError):
            client.assistants.get("no_such_graph")

        thread = client.threads.create(metadata={"user": "ada"})
        thread_id = thread["thread_id"]
        out = client.runs.wait(thread_id, "self_critique", input=TASK)
        assert "42" in out["answer"] and out["success"] is True and out["turns"] >= 2
        assert out["prompt"] == TASK["prompt"]  # the values carry the job input
        state = client.threads.get_state(thread_id)
        assert state["values"]["answer"] == out["answer"] and state["next"] == []
        assert client.threads.get(thread_id)["status"] == "idle"
        assert [t["thread_id"] for t in client.threads.search(metadata={"user": "ada"})] == [thread_id]

        parts = list(client.runs.stream(thread_id, "self_critique", input=TASK, stream_mode="updates"))
        assert parts[0].event == "metadata"
        updates = [p.data for p in parts if p.event == "updates"]
        assert "generate" in updates[0] and updates[0]["generate"]["decision"]["action"] == "revise"
        assert updates[-1]["finish"]["success"] is True
        run_id = parts[0].data["run_id"]

        runs = client.runs.list(thread_id)
        assert len(runs) == 2 and runs[0]["run_id"] == run_id and runs[0]["status"] == "success"
        assert len(client.threads.get_history(thread_id)) == 2
        # The run is the REST job, with the same trajectory.
        job = httpx.get(f"{origin}/v1/jobs/{run_id}").json()
        assert job["status"] == "succeeded" and job["trajectory_id"] == updates[-1]["finish"]["trajectory_id"]
        trajectory = httpx.get(f"{origin}/v1/trajectories/{job['trajectory_id']}").json()
        assert trajectory["turns"][0]["phase"] == "generate"

        values = [p.data for p in client.runs.stream(None, "self_critique", input=TASK, stream_mode="values")]
        assert values[1] == TASK and values[-1]["success"] is True  # stateless: input first, outcome last
        assert (
            client.runs.wait(None, "best_of_n", input=TASK, config={"configurable": {"n": 2}})["turns"] >= 1
        )

        client.threads.delete(thread_id)
        with pytest.raises(NotFoundError):
            client.threads.get(thread_id)
        assert httpx.get(f"{origin}/v1/jobs/{run_id}").json()["status"] == "succeeded"  # jobs stay


def test_interrupt_then_resume_with_a_command(db_url: str) -> None:
    with serving(db_url, ALWAYS_WRONG) as origin:
        client = get_sync_client(url=origin, api_key=None)
        thread_id = client.threads.create()["thread_id"]
        out = client.runs.wait(thread_id, "self_critique", input=TASK, config={"configurable": HUMAN})
        assert out["__interrupt__"][0]["value"]
        thread = client.threads.get(thread_id)
        assert thread["status"] == "interrupted" and thread["interrupts"]
        state = client.threads.get_state(thread_id)
        assert state["next"] == ["escalate"] and state["tasks"][0]["interrupts"]
        run = client.runs.list(thread_id)[0]
        assert run["status"] == "interrupted"

        parts = list(
            client.runs.stream(
                thread_id, "self_critique", command={"resume": "The answer is 42."}, stream_mode="updates"
            )
        )
        assert parts[0].data["run_id"] == run["run_id"]  # the same job goes on
        assert parts[-1].data["finish"]["success"] is True
        assert client.threads.get(thread_id)["status"] == "idle"
        trajectory_id = parts[-1].data["finish"]["trajectory_id"]
        phases = [t["phase"] for t in httpx.get(f"{origin}/v1/trajectories/{trajectory_id}").json()["turns"]]
        assert phases.count("human") == 1
        # Nothing waits any more: a second resume is refused.
        with pytest.raises(httpx.HTTPStatusError) as refused:
            client.runs.wait(thread_id, "self_critique", command={"resume": "again"})
        assert refused.value.response.status_code == 409


def test_cancel_a_running_run(sqlite_url: str) -> None:
    with serving(sqlite_url, SLOW) as origin:
        client = get_sync_client(url=origin, api_key=None)
        thread_id = client.threads.create()["thread_id"]
        run = client.runs.create(
            thread_id, "self_critique", input=TASK, config={"configurable": {"max_turns": 10}}
        )
        deadline = time.monotonic() + 30
        while (
            client.runs.get(thread_id, run["run_id"])["status"] == "pending" and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        client.runs.cancel(thread_id, run["run_id"], wait=True)
        assert client.runs.get(thread_id, run["run_id"])["status"] == "interrupted"
        assert httpx.get(f"{origin}/v1/jobs/{run['run_id']}").json()["status"] == "cancelled"


def test_async_client(sqlite_url: str) -> None:
    async def scenario(origin: str) -> None:
        client = get_client(url=origin, api_key="placeholder")  # keyless loopback: served like no key
        assert len(await client.assistants.search(graph_id="best_of_n")) == 1
        thread_id = (await client.threads.create())["thread_id"]
        out = await client.runs.wait(thread_id, "self_critique", input=TASK)
        assert out["success"] is True
        modes = []
        async for part in client.runs.stream(
            thread_id, "self_critique", input=TASK, stream_mode=["updates", "events"]
        ):
            modes.append(part.event)
        assert modes[0] == "metadata" and {"updates", "events"} <= set(modes)
        joined = await client.runs.join(thread_id, (await client.runs.list(thread_id))[0]["run_id"])
        assert joined["success"] is True

    with serving(sqlite_url, RIGHT_SECOND) as origin:
        asyncio.run(scenario(origin))


def test_x_api_key_is_checked_when_keys_are_configured(sqlite_url: str) -> None:
    with serving(sqlite_url, RIGHT_SECOND, api_keys=["sk-test-key"]) as origin:
        assert get_sync_client(url=origin, api_key="sk-test-key").assistants.search()
        with pytest.raises(AuthenticationError):
            get_sync_client(url=origin, api_key="wrong").assistants.search()
        with pytest.raises(AuthenticationError):
            get_sync_client(url=origin, api_key=None).threads.create()
        # Same idempotency as POST /v1/jobs: one job per key, another body under it is a 422.
        client = get_sync_client(url=origin, api_key="sk-test-key")
        thread_id = client.threads.create()["thread_id"]
        key = {"Idempotency-Key": "run-1"}
        first = client.runs.create(thread_id, "self_critique", input=TASK, headers=key)
        again = client.runs.create(
            thread_id, "self_critique", input=TASK, headers=key, multitask_strategy="enqueue"
        )
        assert again["run_id"] == first["run_id"] and len(client.runs.list(thread_id)) == 1
        with pytest.raises(httpx.HTTPStatusError) as conflict:
            client.runs.create(
                thread_id,
                "self_critique",
                input={**TASK, "reference": "43"},
                headers=key,
                multitask_strategy="enqueue",
            )
        assert conflict.value.response.status_code == 422

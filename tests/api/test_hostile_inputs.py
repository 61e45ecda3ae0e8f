"""Inputs an outside audit sent (issue 16, item 4): each must get a clear 4xx, never a 500, and a
streamed export must be refused before its first byte rather than break after a 200."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.testing.live_server import live_server

JSON_HEADERS = {"content-type": "application/json"}
PROMPT = {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"}


def _job(**overrides: Any) -> dict[str, Any]:
    return {"graph": "self_critique", "input": dict(PROMPT), **overrides}


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [40, 300, 800])
def test_deeply_nested_metadata_is_a_422(client: TestClient, depth: int) -> None:
    body = json.dumps(_job(metadata=_nested(depth)))
    response = client.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "nested too deep" in response.json()["detail"]


def test_moderately_nested_metadata_is_kept(client: TestClient) -> None:
    response = client.post("/v1/jobs", json=_job(metadata=_nested(20)))
    assert response.status_code == 201, response.text


def test_deeply_nested_verifier_options_and_documents_are_422(client: TestClient) -> None:
    body = _job()
    body["input"]["verifier"] = {"name": "regex", "pattern": "x", "extra": _nested(900)}
    response = client.post("/v1/jobs", content=json.dumps(body), headers=JSON_HEADERS)
    assert response.status_code == 422, response.text
    docs = json.dumps({"documents": [{"content": "x", "metadata": _nested(900)}]})
    response = client.post("/v1/corpora/c/documents", content=docs, headers=JSON_HEADERS)
    assert response.status_code == 422, response.text


DEEP_METADATA = (
    '{"graph": "self_critique", "input": {"prompt": "hi"}, "metadata": ' + '{"a": ' * 5000 + "1}" + "}" * 5000
)


@pytest.mark.parametrize("raw", ["[" * 200_000 + "]" * 200_000, DEEP_METADATA])
def test_json_nested_past_the_parser_is_a_4xx(client: TestClient, raw: str) -> None:
    # json.loads itself gives up (RecursionError): FastAPI answers 400 "error parsing the body".
    response = client.post("/v1/jobs", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text


@pytest.mark.parametrize("text", ["\\ud800", "x\\udfff y", "\\udc80"])
def test_lone_surrogate_in_a_prompt_is_a_readable_422(client: TestClient, text: str) -> None:
    raw = '{"graph": "self_critique", "input": {"prompt": "' + text + '"}}'
    response = client.post("/v1/jobs", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["detail"]


@pytest.mark.parametrize("code", ["x = " + "-" * 3000 + "1", "x = 1" + "+1" * 5000, "(" * 500 + ")" * 500])
def test_python_check_that_overflows_the_compiler_is_a_422(client: TestClient, code: str) -> None:
    body = _job()
    body["input"]["verifier"] = {"name": "python", "code": code}
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert "compile" in response.json()["detail"]


@pytest.mark.parametrize("field", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_out_of_range_datetime_filters_are_a_422(client: TestClient, field: str, value: str) -> None:
    response = client.get("/v1/jobs", params={field: value})
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_in_range_datetime_filter_with_an_offset_works(client: TestClient) -> None:
    response = client.get("/v1/jobs", params={"created_after": "0001-01-02T00:00:00+14:00"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "last_event_id", ["²".encode("latin-1"), "٣".encode(), b"9" * 5000, b"-1", b"1.5", b"abc"]
)
def test_odd_last_event_ids_are_a_422(settings: Settings, last_event_id: bytes) -> None:
    # A real server: the test client re-encodes header values as UTF-8, so b"\xb2" would not arrive
    # as the "²" (latin-1) that str.isdigit() accepts.
    app = create_app(settings, bound_host="127.0.0.1")
    with live_server(app) as base, httpx.Client(base_url=base) as http:
        job = http.post("/v1/jobs", json=_job()).json()
        http.post(f"/v1/jobs/{job['id']}/cancel")
        response = http.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": last_event_id})
        assert response.status_code == 422, response.text
        assert "Last-Event-ID" in response.json()["detail"]
        assert http.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": b"0"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/exports/rise?tau=0.001",
        "/v1/exports/rise-fastchat?tau=1e-300",
        "/v1/exports/raw?since=0001-01-01T00:00:00%2B14:00",
        "/v1/exports/raw?until=9999-12-31T23:59:59-14:00",
        "/admin/export/download?format=rise&tau=0.001",
        "/admin/export/download?format=raw&since=0001-01-01T00:00:00%2B14:00",
    ],
)
def test_export_parameters_are_refused_before_the_first_byte(client: TestClient, path: str) -> None:
    _seed_one_finished_trajectory(client)
    with client.stream("GET", path) as response:
        assert response.status_code == 422, response.status_code
        response.read()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"token_budget": 1e40}, "token_budget"),
        ({"token_budget": 10**40}, "token_budget"),
        ({"seed": 2**80}, "seed"),
        ({"seed": -1}, "seed"),
        ({"max_turns": True}, "max_turns"),
        ({"max_turns": 3.0}, "max_turns"),
        ({"max_turns": "3"}, "max_turns"),
        ({"n": True}, "n"),
        ({"max_tokens": 10**6}, "max_tokens"),
        ({"temperature": True}, "temperature"),
    ],
)
def test_config_values_are_strictly_typed_and_bounded(
    client: TestClient, config: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/jobs", json=_job(config=config))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_api_schema_and_runner_share_one_definition_of_each_limit() -> None:
    from introspect import job_limits as limits
    from introspect.api.schemas import JobConfig, JobInput
    from introspect.runner.spec import _Config, _Input

    api = JobConfig.model_json_schema()["properties"]
    runner = _Config.model_json_schema()["properties"]
    for name in ("max_turns", "max_tokens", "token_budget", "seed", "n", "temperature"):
        assert _bounds(api[name]) == _bounds(runner[name]), name
    assert _bounds(api["max_tokens"])["maximum"] == limits.MAX_TOKENS
    api_in = JobInput.model_json_schema()["properties"]
    runner_in = _Input.model_json_schema()["properties"]
    assert _bounds(api_in["prompt"]) == _bounds(runner_in["prompt"])


def _bounds(schema: dict[str, Any]) -> dict[str, Any]:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") != "null":
            return {k: v for k, v in option.items() if k in ("minimum", "maximum", "maxLength", "type")}
    return {}


def _seed_one_finished_trajectory(client: TestClient) -> None:
    from tests.export.builders import Try, record_trajectory

    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    record_trajectory(factory, "What is 6 * 7?", [Try("41", False), Try("The answer is 42.", True)])

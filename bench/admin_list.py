"""Admin trajectory list at 100k trajectories: does keyset pagination + indexes keep it fast?

Fills a throwaway PostgreSQL (started here, migrated from the template) with ``--rows`` trajectories,
their jobs, 2-3 turns each with stats and gate decisions, and one verification per turn, by bulk SQL
(``generate_series``), then VACUUM ANALYZE. Then times pages through the real app (``create_app`` +
TestClient, logged in with a bootstrap key), each ``--repeats`` times after one warm-up:

* first page; a deep keyset page (cursor at row 90% down); filtered pages (status + graph, a rare
  gate decision, success + model); full-text search for a rare word (0.1% of rows), a common one
  (14%) and two words that never meet (no hit: the case that reads everything without the index);
* for context, one trajectory's detail page, the dashboard, the calibration page, failed jobs and the
  label queue (window pages: they read the newest 2000 trajectories, not a page of 50);
* side by side, the rare-decision page again after dropping migration 0002's index on
  turns (trajectory_id, decision_action, model): the ratio is what that index buys.

Time per request through the ASGI stack (median and p95, ms) and the rows each page showed. Ends by
printing one JSON line. ``python bench/admin_list.py [--rows 100000] [--repeats 15]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from pydantic import SecretStr

from introspect.api.app import create_app
from introspect.api.cursor import encode_cursor
from introspect.config import Settings
from introspect.testing.databases import clone_postgres_database, create_postgres_template
from introspect.testing.servers import start_postgres, start_redis

WORDS = [
    "apple",
    "pear",
    "plum",
    "cherry",
    "grape",
    "melon",
    "lemon",
    "lime",
    "mango",
    "peach",
    "river",
    "mountain",
    "forest",
    "desert",
    "ocean",
    "valley",
    "island",
    "canyon",
    "glacier",
    "meadow",
    "copper",
    "silver",
    "golden",
    "iron",
    "nickel",
    "cobalt",
    "zinc",
    "amber",
    "violet",
    "crimson",
    "azure",
    "scarlet",
    "indigo",
    "ivory",
    "ebony",
    "falcon",
    "eagle",
    "heron",
    "swan",
    "raven",
    "otter",
    "badger",
    "beaver",
    "walnut",
    "almond",
    "hazel",
    "cedar",
    "maple",
    "birch",
]
KEY = "bench-admin-key-0123456789"

FILL_SQL = [
    "CREATE TEMP TABLE ids AS SELECT i, gen_random_uuid() AS job_id, gen_random_uuid() AS traj_id "
    "FROM generate_series(1, %(n)s) AS i",
    """
    INSERT INTO jobs (id, graph, input, config, metadata, status, attempts, lease_version, cancel_requested,
                      api_key_scope, created_at, updated_at, finished_at)
    SELECT job_id, (ARRAY['self_critique','best_of_n','rag'])[1 + i %% 3],
           jsonb_build_object('prompt', 'task ' || i), '{}', '{}',
           CASE WHEN i %% 20 = 0 THEN 'waiting_human' WHEN i %% 20 = 1 THEN 'failed'
                WHEN i %% 20 = 2 THEN 'cancelled' WHEN i %% 50 = 3 THEN 'running' ELSE 'succeeded' END,
           1, 1, false, '', now() - i * interval '61 seconds', now() - i * interval '61 seconds',
           now() - i * interval '61 seconds'
    FROM ids
    """,
    """
    INSERT INTO trajectories (id, job_id, graph, task_prompt, task_messages, task_hash, reference,
                              final_answer, stop_reason, success, outcome_reward, models, total_tokens,
                              total_latency_ms, metadata, created_at, finished_at)
    SELECT traj_id, job_id, (ARRAY['self_critique','best_of_n','rag'])[1 + i %% 3],
           'What is ' || (i %% 97) || ' + ' || (i %% 89) || '? Think about the '
             || (%(words)s::text[])[1 + (i * 7) %% %(nwords)s] || ' and the '
             || (%(words)s::text[])[1 + (i * 13) %% %(nwords)s]
             || CASE WHEN i %% 1000 = 0 THEN ' zebra' ELSE '' END,
           '[]', md5(i::text) || md5((i + 1)::text), ((i %% 97) + (i %% 89))::text,
           'The answer is ' || ((i %% 97) + (i %% 89) + (i %% 3 = 0)::int) || '.',
           (ARRAY['verified','max_turns','confident','escalated'])[1 + i %% 4],
           CASE WHEN i %% 7 = 0 THEN NULL ELSE i %% 3 <> 0 END,
           CASE WHEN i %% 3 <> 0 THEN 1.0 ELSE 0.0 END,
           CASE WHEN i %% 4 = 0 THEN '["gpt-4o-mini"]'::jsonb ELSE '["demo-llama"]'::jsonb END,
           150 + i %% 300, 200 + i %% 900, '{}',
           now() - i * interval '61 seconds', now() - i * interval '61 seconds' + interval '3 seconds'
    FROM ids
    """,
    """
    INSERT INTO turns (id, trajectory_id, index, phase, attempt, messages, output, answer, model, stats,
                       decision, decision_action, latency_ms, prompt_tokens, completion_tokens, created_at)
    SELECT gen_random_uuid(), traj_id, k, CASE WHEN k = 0 THEN 'generate' ELSE 'revise' END, k + 1, '[]',
           'The answer is ' || (i + k) || '.', (i + k)::text,
           CASE WHEN i %% 4 = 0 THEN 'gpt-4o-mini' ELSE 'demo-llama' END,
           jsonb_build_object('mean_entropy', ((i * 31 + k * 17) %% 100) / 40.0,
                              'mean_self_certainty', 8 - ((i * 31 + k * 17) %% 100) / 20.0,
                              'mean_logprob', -((i * 31 + k * 17) %% 100) / 100.0,
                              'gnll', ((i * 31 + k * 17) %% 100) / 10.0),
           jsonb_build_object('action', a.act, 'reason', 'bench',
                              'inputs', '{}'::jsonb, 'thresholds', '{}'::jsonb),
           a.act, 40 + k, 30, 12, now() - i * interval '61 seconds' + k * interval '1 second'
    FROM ids, generate_series(0, 1 + i %% 2) AS k,
         LATERAL (SELECT CASE WHEN k < 1 + i %% 2 THEN 'revise' WHEN i %% 50 = 7 THEN 'escalate'
                              ELSE 'stop' END AS act) AS a
    """,
    """
    INSERT INTO verifications (id, turn_id, trajectory_id, verifier, passed, details, created_at)
    SELECT gen_random_uuid(), t.id, t.trajectory_id, 'numeric',
           (t.stats->>'mean_entropy')::float < 2.5 * random(), '{}', t.created_at
    FROM turns t
    """,
    # The state autovacuum leaves a bulk-loaded table in (PostgreSQL 13+ vacuums after inserts too):
    # statistics for the planner and a visibility map, so index-only scans skip the heap.
    "VACUUM ANALYZE",
]


def fill(url: str, rows: int) -> float:
    started = time.perf_counter()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in FILL_SQL:
            conn.execute(sql, {"n": rows, "words": WORDS, "nwords": len(WORDS)})
    return time.perf_counter() - started


def deep_cursor(url: str, offset: int) -> str:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT created_at, id FROM trajectories ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            (offset,),
        ).fetchone()
        assert row is not None
        return encode_cursor(row[0], row[1])


def any_trajectory(url: str) -> str:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT id FROM trajectories ORDER BY created_at DESC LIMIT 1 OFFSET 500"
        ).fetchone()
        assert row is not None
        return str(row[0])


def drop_filter_index(url: str) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP INDEX ix_turns_trajectory_decision_model")
        conn.execute("ANALYZE turns")


def time_page(client: TestClient, path: str, repeats: int) -> dict[str, Any]:
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code, first.text[:300])
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    samples.sort()
    rows = first.text.count('<tr class="row">')
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[min(len(samples) - 1, int(0.95 * len(samples)))], 1),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    pg = start_postgres()
    redis = start_redis()
    try:
        create_postgres_template(pg)
        url = clone_postgres_database(pg)
        fill_s = fill(url, args.rows)
        cursor = deep_cursor(url, int(args.rows * 0.9))
        trajectory = any_trajectory(url)
        # Redis set: the service runs in scale-out mode, so no embedded worker (or model) is started.
        settings = Settings(database_url=url, redis_url=redis.url, api_keys=[SecretStr(KEY)])
        with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
            login = client.post(
                "/admin/login", data={"api_key": KEY}, headers={"Origin": "http://127.0.0.1:8000"},
                follow_redirects=False,
            )  # fmt: skip
            assert login.status_code == 303, login.text
            pages = {
                "first_page": "/admin/trajectories",
                "deep_keyset_page": f"/admin/trajectories?cursor={cursor}",
                "filter_status_graph": "/admin/trajectories?status=failed&graph=rag",
                "filter_rare_decision": "/admin/trajectories?decision=escalate",
                "filter_success_model": "/admin/trajectories?success=no&model=gpt-4o-mini",
                "search_rare_word": "/admin/trajectories?q=zebra",
                "search_common_word": "/admin/trajectories?q=apple",
                "search_no_match": "/admin/trajectories?q=apple+river",
                "detail_page": f"/admin/trajectories/{trajectory}",
                "dashboard": "/admin/dashboard",
                "calibration": "/admin/calibration",
                "jobs_failed": "/admin/jobs?status=failed",
                "label_queue": "/admin/queue",
            }
            results = {name: time_page(client, path, args.repeats) for name, path in pages.items()}
            drop_filter_index(url)
            without_index = time_page(client, pages["filter_rare_decision"], args.repeats)
    finally:
        redis.stop()
        pg.stop()
    list_pages = [
        v["median_ms"]
        for k, v in results.items()
        if k not in ("detail_page", "dashboard", "calibration", "label_queue")
    ]
    print(
        json.dumps(
            {
                "bench": "admin_list",
                "trajectories": args.rows,
                "fill_s": round(fill_s, 1),
                "repeats": args.repeats,
                "worst_list_median_ms": max(list_pages),
                "pages": results,
                "rare_decision_without_turn_filter_index": without_index,
                "turn_filter_index_speedup": round(
                    without_index["median_ms"] / results["filter_rare_decision"]["median_ms"], 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()

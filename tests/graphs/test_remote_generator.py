"""A remote OpenAI-compatible generator (a fake server over HTTP) scored by the local scorer."""

from __future__ import annotations

from typing import Any

import pytest

from introspect.models.chat import OpenAICompatChatModel
from introspect.uncertainty import TokenStats
from tests.graphs.fakes import FakeProvider
from tests.graphs.harness import Harness
from tests.models.fake_openai import VOCAB, FakeServer


class RecordingScorer:
    """Exact statistics whose self-certainty depends on the text, so ranking by it is checkable."""

    name = "smol-local"
    weights_hash = "sha256:abc"

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    @staticmethod
    def certainty(text: str) -> float:
        return float(sum(map(ord, text)) % 97) / 10

    def score(self, messages: Any, response: str, *, add_eos: bool = False) -> TokenStats:
        self.calls.append((response, add_eos))
        n, sc = 4, self.certainty(response)
        return TokenStats(
            logprob=[-0.5] * n, entropy=[1.0] * n, varentropy=[0.5] * n, margin=[1.0] * n,
            top1_logprob=[-0.2] * n, self_certainty=[sc] * n,
        )  # fmt: skip

    def score_many(self, messages: Any, responses: Any, *, add_eos: bool = False) -> list[TokenStats]:
        return [self.score(messages, r, add_eos=add_eos) for r in responses]


def _provider(server: FakeServer, scorer: RecordingScorer) -> FakeProvider:
    remote = OpenAICompatChatModel(
        model="fake", base_url="http://fake.local/v1", http_client=server.client(), vocab_size=len(VOCAB)
    )
    return FakeProvider({"remote": remote}, score=scorer)


@pytest.mark.parametrize(("finish", "eos"), [("length", False), ("stop", True)])
def test_remote_answers_always_get_local_stats_and_keep_their_own(
    harness: Harness, finish: str, eos: bool
) -> None:
    server, scorer = FakeServer(finish_reason=finish), RecordingScorer()
    deps = harness.deps(_provider(server, scorer))
    config = {"generator_model": "remote", "max_turns": 1, "max_tokens": 5}
    outcome = harness.run("self_critique", {"prompt": "Say five words."}, config, deps)
    turn = harness.resource(outcome.trajectory_id)["turns"][0]
    # The server returned top-k log-probs (approximate stats): the local scorer still read the answer,
    # without an end-of-turn token when the answer was cut at the length limit.
    assert scorer.calls == [(turn["output"], eos)]
    stats = turn["stats"]
    assert stats["source"] == "teacher_forced" and stats["exact"] is True
    assert stats["scorer"] == "smol-local" and stats["scorer_weights_hash"] == "sha256:abc"
    assert stats["mean_self_certainty"] == pytest.approx(scorer.certainty(turn["output"]))
    assert stats["remote"]["exact"] is False and stats["remote"]["mean_self_certainty"] is None
    assert stats["remote"]["mean_entropy_lower"] <= stats["remote"]["mean_entropy_upper"]
    assert turn["completion_tokens"] == 5  # the server's usage


def test_best_of_n_gets_distinct_remote_candidates_ranked_by_local_stats(harness: Harness) -> None:
    server, scorer = FakeServer(seeded=True), RecordingScorer()
    deps = harness.deps(_provider(server, scorer))
    config = {"generator_model": "remote", "n": 3, "temperature": 0.8, "seed": 11, "max_tokens": 5}
    outcome = harness.run("best_of_n", {"prompt": "Say five words."}, config, deps)
    turns = harness.resource(outcome.trajectory_id)["turns"]
    assert [r["seed"] for r in server.requests] == [11, 12, 13]
    outputs = [t["output"] for t in turns]
    assert len(set(outputs)) == 3
    winner = next(t for t in turns if t["selected"])
    assert winner["decision"]["reason"] == "selected_by_self_certainty"
    assert winner["output"] == max(outputs, key=scorer.certainty)
    assert all(t["stats"]["source"] == "teacher_forced" and "remote" in t["stats"] for t in turns)

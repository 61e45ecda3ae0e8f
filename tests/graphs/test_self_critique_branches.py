"""Every branch of the self-critique graph, with scripted models, on Postgres and SQLite."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from introspect.critics import RISE_FEEDBACK
from introspect.store.engine import transaction
from introspect.store.repositories import corpora
from tests.graphs.fakes import CONFIDENT, DOUBTFUL, SCATTERED, UNSURE, FakeProvider, Reply, ScriptedChatModel
from tests.graphs.harness import Harness, actions

QUESTION = "What is 40 plus 2?"
NUMERIC = {"prompt": QUESTION, "reference": "42", "verifier": "numeric"}


def test_stop_at_turn_one(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply("40 + 2 = 42. The answer is 42.", CONFIDENT)])
    deps = harness.deps(FakeProvider({"local": local}))
    outcome = harness.run("self_critique", NUMERIC, {}, deps)

    assert outcome.status == "succeeded"
    assert outcome.result is not None and outcome.result["stop_reason"] == "verified"
    assert outcome.result["answer"] == "40 + 2 = 42. The answer is 42."
    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [("generate", "stop", "verified")]
    turn = resource["turns"][0]
    assert turn["answer"] == "42" and turn["attempt"] == 1 and turn["model"] == "local"
    assert turn["stats"]["mean_self_certainty"] == CONFIDENT["mean_self_certainty"]
    assert turn["prompt_template"] == "generate" and len(turn["prompt_hash"]) == 64
    assert turn["messages"] == [{"role": "user", "content": QUESTION}]
    assert turn["verifications"][0]["passed"] is True and turn["critiques"] == []
    assert turn["decision"]["inputs"]["verified"] is True
    assert turn["decision"]["thresholds"]["max_turns"] == 5
    assert [(r["kind"], r["value"]) for r in turn["rewards"]] == [("attempt", 1.0)]
    assert [(r["kind"], r["value"]) for r in resource["rewards"]] == [("outcome", 1.0)]
    assert resource["success"] is True and resource["stop_reason"] == "verified"
    assert resource["models"] == ["local"] and resource["total_tokens"] == 15
    assert len(local.calls) == 1
    events = harness.events(outcome.job_id)
    assert [e[0] for e in events] == ["status", "turn_started", "turn_finished", "status"]
    assert events[2][1]["decision"] == {"action": "stop", "reason": "verified"}
    assert events[-1][1] == {"status": "succeeded"}
    assert harness.job(outcome.job_id).status == "succeeded"


def test_revise_then_stop(harness: Harness) -> None:
    local = ScriptedChatModel(
        script=[
            Reply("40 + 2 = 41. The answer is 41.", CONFIDENT),
            Reply("40 + 2 = 42. The answer is 42.", CONFIDENT),
        ]
    )
    outcome = harness.run("self_critique", NUMERIC, {}, harness.deps(FakeProvider({"local": local})))

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [("generate", "revise", "verifier_rejected"), ("revise", "stop", "verified")]
    first, second = resource["turns"]
    assert first["verifications"][0]["passed"] is False
    critique = first["critiques"][0]
    assert critique["verdict"] == "incorrect" and critique["critic"] == "verifier_feedback"
    assert critique["feedback"] == f"{RISE_FEEDBACK} The numeric verifier rejected 41."
    # A fresh revision: one user message with the task again, the earlier attempt and its review
    # (without RISE's "Please try again", which small instruct models echo back).
    assert [m["role"] for m in second["messages"]] == ["user"]
    assert second["messages"][0]["content"] == (
        "What is 40 plus 2?\n\nA previous answer was: 40 + 2 = 41. The answer is 41.\n"
        "That answer is wrong. The numeric verifier rejected 41.\n\n"
        "Answer the question above again, from the start, in full."
    )
    assert second["prompt_template"] == "revise" and second["attempt"] == 2
    assert "42" not in second["messages"][0]["content"]  # feedback never leaks the reference
    assert [(r["kind"], r["value"]) for t in resource["turns"] for r in t["rewards"]] == [
        ("attempt", 0.0),
        ("attempt", 1.0),
    ]
    assert resource["rewards"][0]["value"] == 1.0 and resource["success"] is True
    assert len(local.calls) == 2


def test_retrieve_then_stop(harness: Harness) -> None:
    with transaction(harness.session_factory) as session:
        corpus = corpora.get_or_create_corpus(session, "facts")
        corpora.add_documents(
            session,
            corpus,
            [
                {"title": "Everest", "content": "Mount Everest is 8849 metres tall."},
                {"title": "Rivers", "content": "The Nile is a long river."},
            ],
        )
    local = ScriptedChatModel(script=[Reply("About 8000 metres.", UNSURE), Reply("8849 metres.", CONFIDENT)])
    deps = harness.deps(FakeProvider({"local": local}))
    task = {"prompt": "How tall is Mount Everest?", "reference": "8849", "corpus": "facts"}
    outcome = harness.run("self_critique", task, {}, deps)

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [
        ("generate", "retrieve", "regime_unsure"),
        ("retrieve", None, None),
        ("revise", "stop", "verified"),
    ]
    assert resource["verifier"] == {"name": "numeric", "rel_tol": 1e-6, "abs_tol": 1e-9}
    retrieved = resource["turns"][1]["retrieved"]
    assert retrieved[0]["title"] == "Everest" and "8849" in retrieved[0]["content"]
    revise = resource["turns"][2]
    assert revise["retrieved"] == retrieved
    assert "Mount Everest is 8849 metres tall." in revise["messages"][-1]["content"]
    assert "That answer is wrong. The numeric verifier rejected 8000." in revise["messages"][-1]["content"]
    assert resource["turns"][0]["decision"]["inputs"]["regime"] == "unsure"


def test_escalate_to_model(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply("The answer is 7.", SCATTERED)])
    strong = ScriptedChatModel(script=["The answer is 42."], model_name="strong")
    deps = harness.deps(FakeProvider({"local": local, "strong": strong}))
    outcome = harness.run("self_critique", NUMERIC, {"escalation_model": "strong"}, deps)

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [
        ("generate", "escalate", "regime_scattered"),
        ("escalate", "stop", "verified"),
    ]
    escalated = resource["turns"][1]
    assert escalated["model"] == "strong" and escalated["stats"] is None  # no local scorer in this test
    assert escalated["messages"][-1]["content"].startswith(NUMERIC["prompt"])
    assert resource["models"] == ["local", "strong"]
    assert len(local.calls) == 1 and len(strong.calls) == 1


def test_escalate_to_human_then_resume(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply("The answer is 7.", SCATTERED)])
    deps = harness.deps(FakeProvider({"local": local}))
    job_id = harness.create("self_critique", NUMERIC, {"escalation": "human"})

    waiting = harness.execute(job_id, deps)
    assert waiting.status == "waiting_human"
    assert waiting.interrupt is not None and QUESTION in waiting.interrupt["message"]
    job = harness.job(job_id)
    assert job.status == "waiting_human" and job.result is not None
    assert job.result["interrupt"]["type"] == "human_escalation"
    assert actions(harness.resource(waiting.trajectory_id)) == [("generate", "escalate", "regime_scattered")]

    harness.set_resume(job_id, {"answer": "42", "comment": "40 + 2 is 42."})
    done = harness.execute(job_id, deps)
    assert done.status == "succeeded" and done.trajectory_id == waiting.trajectory_id
    resource = harness.resource(done.trajectory_id)
    assert actions(resource) == [
        ("generate", "escalate", "regime_scattered"),
        ("human", "stop", "human_answer"),
    ]
    human = resource["turns"][1]
    assert human["output"] == "42" and human["model"] == "human"
    assert human["verifications"][0]["passed"] is True
    rewards = {r["kind"]: r for r in human["rewards"]}
    assert rewards["human"]["value"] == 1.0 and rewards["human"]["comment"] == "40 + 2 is 42."
    assert rewards["attempt"]["value"] == 1.0
    assert resource["answer"] == "42" and resource["success"] is True
    assert harness.job(job_id).resume_value is None
    assert len(local.calls) == 1  # resuming never re-asks the model
    statuses = [d["status"] for t, d in harness.events(job_id) if t == "status"]
    assert statuses == ["running", "waiting_human", "running", "succeeded"]


def test_turn_budget_exhausted(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply(f"The answer is {n}.", CONFIDENT) for n in (1, 2, 3)])
    deps = harness.deps(FakeProvider({"local": local}))
    outcome = harness.run("self_critique", NUMERIC, {"max_turns": 3}, deps)

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [
        ("generate", "revise", "verifier_rejected"),
        ("revise", "revise", "verifier_rejected"),
        ("revise", "stop", "max_turns"),
    ]
    assert resource["success"] is False and resource["rewards"][0]["value"] == 0.0
    # Every attempt was rejected and none agrees with another: the final answer is the first attempt,
    # not the last (a revision is no evidence of improvement).
    assert resource["answer"] == "The answer is 1." and resource["stop_reason"] == "max_turns"
    # The budget comes from the job's config and is stored with every decision.
    assert {t["decision"]["thresholds"]["max_turns"] for t in resource["turns"]} == {3}
    assert len(local.calls) == 3


def test_token_budget_exhausted(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply(f"The answer is {n}.", CONFIDENT) for n in (1, 2, 3)])
    deps = harness.deps(FakeProvider({"local": local}))
    # Each scripted call costs 15 tokens: the second attempt crosses a 20-token budget.
    outcome = harness.run("self_critique", NUMERIC, {"token_budget": 20}, deps)

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [
        ("generate", "revise", "verifier_rejected"),
        ("revise", "stop", "token_budget"),
    ]
    assert resource["turns"][1]["decision"]["inputs"]["tokens_used"] == 30


def test_llm_critic_without_verifier(harness: Harness) -> None:
    local = ScriptedChatModel(
        script=[Reply("Paris is in Italy.", DOUBTFUL), Reply("Paris is in France.", CONFIDENT)]
    )
    critic = ScriptedChatModel(
        script=[
            '{"verdict": "incorrect", "issues": ["Paris is not in Italy."]}',
            '{"verdict": "correct", "issues": []}',
        ],
        model_name="critic",
    )
    deps = harness.deps(FakeProvider({"local": local, "critic": critic}))
    outcome = harness.run("self_critique", {"prompt": "Where is Paris?"}, {"critic_model": "critic"}, deps)

    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource) == [
        ("generate", "revise", "critic_rejected"),
        ("critique", None, None),
        ("revise", "stop", "confident"),
        ("critique", None, None),
    ]
    first = resource["turns"][0]
    assert first["verifications"] == [] and first["critiques"][0]["verdict"] == "incorrect"
    assert first["critiques"][0]["feedback"] == f"{RISE_FEEDBACK} Paris is not in Italy."
    critique_turn = resource["turns"][1]
    assert critique_turn["model"] == "critic" and critique_turn["prompt_template"] == "critique"
    assert "Paris is in Italy." in critique_turn["messages"][0]["content"]
    assert resource["success"] is None and resource["rewards"] == []  # nothing verified: no reward
    assert resource["models"] == ["critic", "local"]


def test_messages_input_is_used_as_given(harness: Harness) -> None:
    local = ScriptedChatModel(script=[Reply("The answer is 42.", CONFIDENT)])
    messages = [{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": QUESTION}]
    task = {"messages": messages, "reference": "42"}
    outcome = harness.run("self_critique", task, {}, harness.deps(FakeProvider({"local": local})))
    resource = harness.resource(outcome.trajectory_id)
    assert resource["prompt"] == QUESTION and resource["messages"] == messages
    turn = resource["turns"][0]
    assert turn["messages"] == messages and turn["prompt_template"] is None
    assert local.calls[0] == [
        {"role": "system", "content": "Answer with a number."},
        {"role": "human", "content": QUESTION},
    ]


def test_remote_answers_are_scored_by_the_local_model(harness: Harness) -> None:
    class Scorer:
        def __init__(self) -> None:
            self.seen: list[tuple[Any, str]] = []

        def score(self, messages: Any, response: str, *, add_eos: bool = False) -> Any:
            self.seen.append((messages, response))
            from introspect.uncertainty import TokenStats

            n = 3
            return TokenStats(
                logprob=[-0.1] * n, entropy=[0.2] * n, varentropy=[0.1] * n, margin=[2.0] * n,
                top1_logprob=[-0.1] * n, self_certainty=[5.0] * n,
            )  # fmt: skip

    scorer = Scorer()
    remote = ScriptedChatModel(script=["The answer is 42."], model_name="remote")
    deps = harness.deps(FakeProvider({"remote": remote}, score=scorer))
    outcome = harness.run("self_critique", NUMERIC, {"generator_model": "remote"}, deps)
    turn = harness.resource(outcome.trajectory_id)["turns"][0]
    assert scorer.seen == [([{"role": "user", "content": QUESTION}], "The answer is 42.")]
    assert turn["stats"]["source"] == "teacher_forced" and turn["stats"]["mean_self_certainty"] == 5.0
    assert turn["token_stats"]["n"] == 3 and turn["model"] == "remote"


class StaticRetriever(BaseRetriever):
    """Any LangChain retriever plugs in through RunnerDeps.retriever_factory."""

    corpus: str

    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content=f"{self.corpus}: 40 + 2 = 42", metadata={"title": "sum"})]


def test_any_retriever_can_be_plugged_in(harness: Harness) -> None:
    local = ScriptedChatModel(
        script=[Reply("The answer is 41.", UNSURE), Reply("The answer is 42.", CONFIDENT)]
    )
    deps = harness.deps(
        FakeProvider({"local": local}), retriever_factory=lambda name: StaticRetriever(corpus=name)
    )
    outcome = harness.run("self_critique", {**NUMERIC, "corpus": "web"}, {}, deps)
    resource = harness.resource(outcome.trajectory_id)
    assert actions(resource)[1] == ("retrieve", None, None)
    assert resource["turns"][1]["retrieved"] == [
        {"title": "sum", "content": "web: 40 + 2 = 42", "score": None, "document_id": None, "source": None}
    ]
    assert "web: 40 + 2 = 42" in local.calls[1][-1]["content"]

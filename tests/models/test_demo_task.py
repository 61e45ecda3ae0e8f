"""The demo reference task and its RISE training episodes (no torch needed)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from introspect.models.demo import FEEDBACK, Fault, Problem, is_correct, make_problems, model_path, solve
from introspect.models.demo.data import make_episode, near_miss
from introspect.models.demo.task import iter_problems, split_of
from introspect.verifiers.numeric import extract_number


def test_make_problems_is_deterministic_and_distinct() -> None:
    a = make_problems(300, seed=7)
    assert a == make_problems(300, seed=7)
    assert a != make_problems(300, seed=8)
    assert len({(p.op, p.a, p.b) for p in a}) == 300
    assert make_problems(0) == []
    with pytest.raises(ValueError):
        make_problems(-1)
    with pytest.raises(ValueError):
        make_problems(1, split="test")  # type: ignore[arg-type]


def test_splits_are_disjoint_whatever_the_seed() -> None:
    held_out = {(p.op, p.a, p.b) for p in make_problems(500, seed=1, split="eval")}
    train = {(p.op, p.a, p.b) for p in make_problems(2000, seed=1, split="train")}
    assert not held_out & train
    assert all(split_of(p.op, p.a, p.b) == "eval" for p in make_problems(50, seed=3))


def test_problems_are_well_formed() -> None:
    problems = make_problems(600, seed=0)
    assert {p.op for p in problems} == {"add", "sub", "mul"}
    assert len({p.question for p in problems}) > 500  # several phrasings, many operands
    for p in problems:
        assert str(p.a) in p.question and str(p.b) in p.question
        expected = {"add": p.a + p.b, "sub": p.a - p.b, "mul": p.a * p.b}[p.op]
        assert p.answer == expected >= 0
        assert max(p.a, p.b) < 1000
        if p.op == "mul":
            assert 2 <= p.b <= 9


def test_solution_is_canonical_and_verifiable() -> None:
    p = Problem("What is 474 times 8?", 3792, "mul", 474, 8)
    assert p.solution == "474 * 8: 4 * 8 = 32, 7 * 8 + 3 = 59, 4 * 8 + 5 = 37. The answer is 3792."
    assert extract_number(p.solution) == 3792
    assert is_correct(p.solution, 3792)
    assert is_correct("The answer is 3792.", "3792")
    assert is_correct("The answer is 3792.0", 3792)
    assert not is_correct("I do not know.", 3792)


@pytest.mark.parametrize(
    ("op", "a", "b", "reply"),
    [
        ("add", 95, 7, "95 + 7: 5 + 7 = 12, 9 + 0 + 1 = 10. The answer is 102."),
        ("add", 1, 1, "1 + 1: 1 + 1 = 2. The answer is 2."),
        ("sub", 352, 78, "352 - 78: 12 - 8 = 4, 15 - 1 - 7 = 7, 3 - 1 - 0 = 2. The answer is 274."),
        ("sub", 652, 633, "652 - 633: 12 - 3 = 9, 5 - 1 - 3 = 1, 6 - 6 = 0. The answer is 19."),
        ("sub", 5, 5, "5 - 5: 5 - 5 = 0. The answer is 0."),
        ("mul", 0, 5, "0 * 5: 0 * 5 = 0. The answer is 0."),
    ],
)
def test_worked_replies(op: str, a: int, b: int, reply: str) -> None:
    answer = {"add": a + b, "sub": a - b, "mul": a * b}[op]
    assert solve(Problem("q", answer, op, a, b)) == (reply, answer)  # type: ignore[arg-type]


def test_every_worked_reply_states_the_answer() -> None:
    for p in make_problems(3000, seed=2, split="train"):
        reply, value = solve(p)
        assert value == p.answer and is_correct(reply, p.answer)


def test_a_fault_is_carried_through() -> None:
    p = Problem("q", 85, "add", 38, 47)
    assert solve(p, Fault(0, -1)) == ("38 + 47: 8 + 7 = 14, 3 + 4 + 1 = 8. The answer is 84.", 84)
    assert solve(p, Fault(0, -10)) == ("38 + 47: 8 + 7 = 5, 3 + 4 = 7. The answer is 75.", 75)
    assert solve(p, Fault(1, 1)) == ("38 + 47: 8 + 7 = 15, 3 + 4 + 1 = 9. The answer is 95.", 95)


def test_near_miss_is_wrong_fresh_and_plausible() -> None:
    rng = random.Random(0)
    for p in make_problems(200, seed=4, split="train"):
        exclude: set[int] = set()
        for _ in range(4):
            attempt = near_miss(rng, p, exclude)
            if attempt is None:
                break
            reply, value = attempt
            assert value != p.answer and value not in exclude
            assert extract_number(reply) == value
            assert reply.split(":")[0] == p.solution.split(":")[0]  # same equation, a slipped step
            exclude.add(value)
    assert near_miss(rng, Problem("q", 0, "mul", 0, 2), set()) is not None  # 0 * 2 = 1 is a slip too


def test_episodes_follow_rise_layout() -> None:
    rng = random.Random(0)
    stream = iter_problems(rng)
    episodes = [make_episode(rng, next(stream), p_retry=0.5) for _ in range(400)]
    retries = [e for e in episodes if e.wrong_attempts]
    assert 100 < len(retries) < 300
    assert max(e.wrong_attempts for e in episodes) <= 4
    for e in episodes:
        roles = [m["role"] for m in e.messages if m["role"] != "system"]
        assert roles == ["user"] + ["assistant", "user"] * e.wrong_attempts + ["assistant"]
        question = next(m for m in e.messages if m["role"] == "user")["content"]
        final = e.messages[-1]["content"]
        attempts = [m["content"] for m in e.messages if m["role"] == "assistant"]
        feedback = [m["content"] for m in e.messages if m["role"] == "user"][1:]
        assert all(f.startswith(FEEDBACK) for f in feedback)
        answers = [extract_number(a) for a in attempts]
        assert len(set(answers)) == len(answers)  # a retry never repeats a refuted answer
        assert final.endswith(".") and question
    user = [m["content"] for e in retries for m in e.messages if m["role"] == "user"]
    assert len(user) == len(retries) + sum(e.wrong_attempts for e in retries)
    exact = sum(text == FEEDBACK for text in user)
    assert exact > 0.8 * (len(user) - len(retries))  # mostly the exact feedback text


def test_episode_with_given_wrong_replies() -> None:
    p = make_problems(1)[0]
    wrong = [solve(p, Fault(0, 1))[0], "I am not sure."]
    e = make_episode(random.Random(0), p, p_system=0.0, wrong_replies=wrong)
    assert e.wrong_attempts == 2
    assert [m["content"] for m in e.messages if m["role"] == "assistant"] == [*wrong, p.solution]
    with pytest.raises(ValueError):
        make_episode(random.Random(0), p, wrong_replies=[p.solution])


def test_model_path_points_inside_the_package() -> None:
    path = Path(model_path())
    assert isinstance(model_path(), str)  # TRL loads a str path (issue 18)
    assert path.name == "weights" and path.parent.name == "demo"

"""Old vs new revision on a real instruct model (SmolLM2-135M-Instruct by default): does the loop
fix answers, echo the feedback, or make right answers wrong?

    nice -n 10 python bench/smollm2_revise.py [--model smollm2-135m-instruct] [--arith 30] [--open 20]

Both sides run the same problems, the same greedy first answer and the same sampling seeds for the
revisions, side by side in one process:

- **old**: RISE's conversation (question, answer, then the feedback as the next user message: "The
  answer is incorrect. Please try again." plus the verifier's message) and the *last* attempt as the
  final answer (with a verifier: the first verified one) -- what the loop did before issue 17 when it
  ran all five turns (it could also stop earlier on a "confident" echo; that is not simulated);
- **new**: the fresh revise prompt (``prompts/revise.prompt`` v2: the question again with the earlier
  answers and their reviews), echo detection (``introspect.gate.echo``) and the *best* attempt as the
  final answer (``graphs.final_answer.best_attempt``).

Two problem sets: two-digit ``What is A + B?`` (the numeric verifier grades and writes the review,
as in the service) and open questions whose reference is kept from the loop (no review: the
no-oracle case). Five turns each, revisions sampled at ``--temperature``. Reported per side: turn-1
accuracy, p1@t5 (some turn right), m1@t5 (majority answer over the 5 turns right; arithmetic), the
final answer's accuracy, how often the final answer is worse than turn 1, and the echo rate (share of
revision turns that restate the feedback). Ends with one JSON line.

Measured 2026-12-03 on 2 shared cores (``--arith 6 --open 6 --max-tokens 32``, 49 minutes; the
machine ran about 0.4 s of CPU per token, so 40-60 problems did not fit): 12 problems, 48 revision
turns per side. old: turn-1 0.333, p1@t5 0.333, m1@t5 (arith) 0.0, final 0.167 (2 finals worse than
turn 1), echo rate 0.292 (14/48). new: turn-1 0.333, p1@t5 0.333, m1@t5 0.0, final 0.25 (1 worse),
echo rate 0.062 (3/48; open questions 0/24). That run chose among unverified attempts by plurality;
the rule is now a strict majority (``graphs/final_answer.py``), not re-measured.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graphs.final_answer import best_attempt  # noqa: E402
from introspect.config import Settings  # noqa: E402
from introspect.critics import RISE_FEEDBACK  # noqa: E402
from introspect.gate.echo import echo_kind  # noqa: E402
from introspect.models.catalog import CATALOG  # noqa: E402
from introspect.prompting import PromptLibrary, default_library  # noqa: E402
from introspect.runner.model_provider import load_local_model  # noqa: E402
from introspect.testing.open_questions import OPEN_QUESTIONS  # noqa: E402
from introspect.verifiers import VerificationTask, build_verifier  # noqa: E402

TURNS = 5


def arithmetic(n: int, seed: int = 17) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        out.append((f"What is {a} + {b}?", a + b))
    return out


class Problem:
    def __init__(self, prompt: str, grade: Any, verified: bool) -> None:
        self.prompt, self.grade, self.verified = prompt, grade, verified


def problems(n_arith: int, n_open: int) -> list[Problem]:
    numeric = build_verifier("numeric")
    out = []
    for prompt, answer in arithmetic(n_arith):
        task = VerificationTask(prompt=prompt, reference=str(answer))
        out.append(Problem(prompt, lambda text, t=task: numeric.verify(text, t), True))
    for q in OPEN_QUESTIONS[:n_open]:
        out.append(Problem(q.prompt, q, False))
    return out


def run_side(
    model: Any, problem: Problem, new: bool, max_tokens: int, temperature: float, seed: int, first: str
) -> dict[str, Any]:
    fresh = default_library()["revise"]
    rise = PromptLibrary(default_library().directory, (CATALOG["demo"].prompts or Path(),))["revise"]
    question = {"role": "user", "content": problem.prompt}
    messages: list[dict[str, str]] = [question]
    history: list[dict[str, Any]] = []
    turns = []
    for turn in range(TURNS):
        sampling = {"temperature": temperature, "seed": seed * 100 + turn}
        # Turn 1 is the same greedy answer for both sides: generated once.
        text = first if turn == 0 else model.generate(messages, max_new_tokens=max_tokens, **sampling)[0].text
        if problem.verified:
            result = problem.grade(text)
            right, answer = bool(result.passed), str(result.extracted)
            review = f"That answer is wrong. {result.message}" if not right else ""
            old_feedback = f"{RISE_FEEDBACK} {result.message}" if not right else RISE_FEEDBACK
        else:
            right, answer = problem.grade.is_right(text), text.strip()
            review, old_feedback = "", RISE_FEEDBACK
        feedbacks = [RISE_FEEDBACK, *(h["feedback"] for h in history)]
        echo = echo_kind(text, feedbacks, [h["text"] for h in history]) if turn else None
        turns.append({"text": text, "right": right, "answer": answer, "echo": echo})
        history.append({"text": text, "feedback": old_feedback if not new else review, "review": review})
        if new:
            shown, seen = [], set()
            for t, h in zip(turns, history, strict=True):
                if t["echo"] == "feedback" or t["text"].strip() in seen:
                    continue
                seen.add(t["text"].strip())
                shown.append({"answer": t["text"].strip(), "feedback": h["review"]})
            content = fresh.render(question=problem.prompt, attempts=shown[-3:], passages=[])
            messages = [{"role": "user", "content": content}]
        else:
            feedback = {"role": "user", "content": rise.render(feedback=old_feedback, passages=[])}
            messages = [*messages, {"role": "assistant", "content": text}, feedback]
    if new:
        final = final_of(turns, problem.verified)
    else:  # the old loop: stopped at a verified answer, else ended on its last attempt
        final = next((t for t in turns if t["right"]), turns[-1]) if problem.verified else turns[-1]
    return {"turns": turns, "final": final}


def final_of(turns: list[dict[str, Any]], verified: bool) -> dict[str, Any]:
    judged = [
        {
            "attempt": {"output": t["text"], "phase": "generate" if i == 0 else "revise", "stats": None},
            "answer": t["answer"],
            "verification": {"passed": t["right"]} if verified else None,
            "critique": None,
            "decision": {"reason": f"echo_{t['echo']}" if t["echo"] else "low_confidence"},
        }
        for i, t in enumerate(turns)
    ]
    chosen = best_attempt(judged)  # type: ignore[arg-type]
    assert chosen is not None
    return turns[judged.index(chosen)]


def summarise(runs: list[dict[str, Any]], probs: list[Problem]) -> dict[str, Any]:
    n = len(runs)
    arith = [(r, p) for r, p in zip(runs, probs, strict=True) if p.verified]
    revisions = [t for r in runs for t in r["turns"][1:]]
    m1 = 0
    for r, _ in arith:
        votes = Counter(t["answer"] for t in r["turns"])
        top = votes.most_common(1)[0][0]
        m1 += next(t["right"] for t in r["turns"] if t["answer"] == top)
    return {
        "turn1": round(sum(r["turns"][0]["right"] for r in runs) / n, 3),
        "p1_at_t5": round(sum(any(t["right"] for t in r["turns"]) for r in runs) / n, 3),
        "m1_at_t5_arith": round(m1 / max(1, len(arith)), 3),
        "final": round(sum(r["final"]["right"] for r in runs) / n, 3),
        "final_worse_than_turn1": sum(r["turns"][0]["right"] and not r["final"]["right"] for r in runs),
        "echo_rate": round(sum(t["echo"] == "feedback" for t in revisions) / max(1, len(revisions)), 3),
        "echo_turns": sum(t["echo"] == "feedback" for t in revisions),
        "revision_turns": len(revisions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--arith", type=int, default=30)
    parser.add_argument("--open", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()
    model = load_local_model(Settings(model_path=args.model, model_device="cpu"))
    probs = problems(args.arith, args.open)
    started = time.perf_counter()
    sides: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    for i, problem in enumerate(probs):
        first = model.generate([{"role": "user", "content": problem.prompt}], max_new_tokens=args.max_tokens)
        for side in ("old", "new"):
            run = run_side(model, problem, side == "new", args.max_tokens, args.temperature, i, first[0].text)
            sides[side].append(run)
        print(f"{i + 1}/{len(probs)} {problem.prompt[:40]!r}", file=sys.stderr, flush=True)
    groups = {
        "all": list(range(len(probs))),
        "arith": [i for i, p in enumerate(probs) if p.verified],
        "open": [i for i, p in enumerate(probs) if not p.verified],
    }
    result: dict[str, Any] = {"bench": "smollm2_revise", "model": model.identity, "problems": len(probs)}
    for group, index in groups.items():
        for side, runs in sides.items():
            stats = summarise([runs[i] for i in index], [probs[i] for i in index])
            result[f"{group}_{side}"] = stats
            print(f"{group:5} {side:3} " + " ".join(f"{k}={v}" for k, v in stats.items()))
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

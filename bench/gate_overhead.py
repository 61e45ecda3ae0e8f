"""Cost of reading uncertainty during generation: StatsCollector vs plain ``generate``.

Same random-init Llama, same prompt, same number of new tokens, greedy decoding, side by side in one
process (runs interleaved so drift in a shared machine hits both sides alike):

* time: ``generate`` with the collector / plain ``generate``, the median over ``--repeats`` of each
  repeat's ratio (both sides run back to back in every repeat): wall clock on a GPU; on a CPU this
  process's CPU time (wall-clock ratios are reported too, but on a shared CPU they mostly measure
  the other tenants);
* memory held when generation ends: the collector's tensors (its per-token numbers plus the one
  ``[B, V]`` row of the last step, released by ``finalize``) vs ``output_logits=True``'s ``T x [B, V]``.

On a small shared CPU, ``--threads 1`` gives the steadiest figures: with two intra-op threads and
other processes on the cores, each parallel region waits for a descheduled thread.

Targets: CPU preset (V = 32k, hidden 256, T = 256) time ratio <= 1.05 and memory >= 100x smaller;
GPU preset (~1B params, bf16) time ratio <= 1.02. Prints one JSON line with the figures at the end.

    python bench/gate_overhead.py                                  # cpu-small
    python bench/gate_overhead.py --threads 1 --repeats 9          # steadier on a busy CPU
    python bench/gate_overhead.py --device cuda --preset gpu-1b
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from introspect.uncertainty.collector import StatsCollector

PRESETS: dict[str, dict[str, Any]] = {
    "cpu-small": {
        "config": {
            "vocab_size": 32000,
            "hidden_size": 256,
            "intermediate_size": 688,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
        },
        "dtype": "float32",
        "new_tokens": 256,
        "prompt_tokens": 32,
        "repeats": 15,
    },
    # Llama-3.2-1B's shape (1.24B parameters), random init.
    "gpu-1b": {
        "config": {
            "vocab_size": 128256,
            "hidden_size": 2048,
            "intermediate_size": 8192,
            "num_hidden_layers": 16,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "tie_word_embeddings": True,
        },
        "dtype": "bfloat16",
        "new_tokens": 256,
        "prompt_tokens": 32,
        "repeats": 5,
    },
}


def build_model(preset: dict[str, Any], device: str) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        **preset["config"], max_position_embeddings=4096, bos_token_id=None, eos_token_id=None
    )
    dtype = getattr(torch, preset["dtype"])
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    # No EOS: every run produces exactly new_tokens tokens.
    model.generation_config = GenerationConfig(eos_token_id=None, pad_token_id=0)
    return model.eval()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class TimedCollector(StatsCollector):
    """The collector plus the time spent inside it (a diagnostic: on a GPU this is launch time only)."""

    def __init__(self, top_k: int = 0) -> None:
        super().__init__(top_k=top_k)
        self.self_s = 0.0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        start = time.perf_counter()
        out = super().__call__(input_ids, scores)
        self.self_s += time.perf_counter() - start
        return out


def timed_generate(
    model: Any, prompt: torch.Tensor, new_tokens: int, **kwargs: Any
) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, output) of one greedy generate."""
    sync(str(prompt.device))
    wall, cpu = time.perf_counter(), time.process_time()
    out = model.generate(
        prompt, max_new_tokens=new_tokens, do_sample=False, return_dict_in_generate=True, **kwargs
    )
    sync(str(prompt.device))
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", default="cpu-small", choices=sorted(PRESETS))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    repeats = args.repeats or preset["repeats"]
    new_tokens = args.new_tokens or preset["new_tokens"]
    top_k = 5  # LocalModel's default number of alternatives kept for display

    model = build_model(preset, args.device)
    gen = torch.Generator().manual_seed(1)
    prompt = torch.randint(3, preset["config"]["vocab_size"], (1, preset["prompt_tokens"]), generator=gen)
    prompt = prompt.to(args.device)

    wall: dict[str, list[float]] = {"plain": [], "collect": []}
    cpu: dict[str, list[float]] = {"plain": [], "collect": []}
    self_s: list[float] = []
    with torch.inference_mode():
        timed_generate(model, prompt, 8)  # warm-up: kernels, allocator, caches
        timed_generate(model, prompt, 8, logits_processor=[StatsCollector(top_k=top_k)])
        for r in range(repeats):
            # Alternate which side runs first so slow drift on a shared machine cancels out.
            for side in ("plain", "collect") if r % 2 == 0 else ("collect", "plain"):
                collector = TimedCollector(top_k=top_k)
                extra = {"logits_processor": [collector]} if side == "collect" else {}
                w, c, out = timed_generate(model, prompt, new_tokens, **extra)
                wall[side].append(w)
                cpu[side].append(c)
                if side == "collect":
                    self_s.append(collector.self_s)
                    collected, collected_out = collector, out
                else:
                    plain_out = out
        assert torch.equal(plain_out.sequences, collected_out.sequences), "the collector changed the output"
        collector_bytes = collected.retained_bytes()
        row = collected._last.shifted  # type: ignore[union-attr]
        row_bytes = row.nelement() * row.element_size()
        stats = collected.finalize(collected_out.sequences)[0]
        _, _, with_logits = timed_generate(model, prompt, new_tokens, output_logits=True)
        logits_bytes = sum(t.nelement() * t.element_size() for t in with_logits.logits)

    n_tokens = collected_out.sequences.shape[1] - prompt.shape[1]
    assert n_tokens == new_tokens == len(stats), (n_tokens, new_tokens, len(stats))

    def ratio(d: dict[str, list[float]]) -> float:
        return round(statistics.median(d["collect"]) / statistics.median(d["plain"]), 4)

    def paired_ratio(d: dict[str, list[float]]) -> float:
        # Each repeat runs both sides back to back: the median of their per-repeat ratios cancels
        # slow drift of a shared machine that a ratio of two medians still carries.
        return round(statistics.median(c / p for c, p in zip(d["collect"], d["plain"], strict=True)), 4)

    on_gpu = args.device.startswith("cuda")
    result = {
        "bench": "gate_overhead",
        "preset": args.preset,
        "device": args.device,
        "device_name": torch.cuda.get_device_name() if on_gpu else "cpu",
        "dtype": preset["dtype"],
        "params": sum(p.numel() for p in model.parameters()),
        "vocab": preset["config"]["vocab_size"],
        "hidden": preset["config"]["hidden_size"],
        "new_tokens": n_tokens,
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
        # Headline: wall clock on a GPU; on a CPU this process's CPU time, which other tenants of a
        # shared machine barely disturb (with --threads 1 it is the work done). Both are reported.
        "time_basis": "wall" if on_gpu else "process_cpu",
        "time_ratio": paired_ratio(wall) if on_gpu else paired_ratio(cpu),
        "wall_time_ratio": paired_ratio(wall),
        "cpu_time_ratio": paired_ratio(cpu),
        "cpu_time_ratio_of_medians": ratio(cpu),
        "wall_time_ratio_min": round(min(wall["collect"]) / min(wall["plain"]), 4),
        "plain_wall_s": round(statistics.median(wall["plain"]), 4),
        "collector_wall_s": round(statistics.median(wall["collect"]), 4),
        "plain_cpu_s": round(statistics.median(cpu["plain"]), 4),
        "collector_cpu_s": round(statistics.median(cpu["collect"]), 4),
        "collector_self_share": round(statistics.median(self_s) / statistics.median(wall["plain"]), 4),
        "collector_bytes": collector_bytes,
        "collector_row_buffer_bytes": row_bytes,
        "output_logits_bytes": logits_bytes,
        "memory_ratio": round(logits_bytes / collector_bytes, 1),
        "mean_self_certainty": stats.summary()["mean_self_certainty"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

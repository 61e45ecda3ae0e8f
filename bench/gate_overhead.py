"""Cost of reading uncertainty during generation: StatsCollector vs plain ``generate``.

Same random-init Llama, same prompt, same number of new tokens, greedy decoding, side by side in one
process (runs interleaved so drift in a shared machine hits both sides alike):

* time: ``generate`` with the collector / plain ``generate``: ratio of medians over ``--repeats``
  (also the ratio of minima and the median of per-repeat ratios, steadier on a busy machine);
* memory retained after generation: the collector's tensors vs ``output_logits=True``'s ``T x [B, V]``.

Targets: CPU preset (V = 32k, hidden 256, T = 256) time ratio <= 1.05 and memory >= 100x smaller;
GPU preset (~1B params, bf16) time ratio <= 1.02. Prints one JSON line with the figures at the end.

    python bench/gate_overhead.py                                  # cpu-small
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
        "repeats": 5,
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


def timed_generate(
    model: LlamaForCausalLM, prompt: torch.Tensor, new_tokens: int, **kwargs: Any
) -> tuple[float, Any]:
    sync(str(prompt.device))
    start = time.perf_counter()
    out = model.generate(
        prompt,
        max_new_tokens=new_tokens,
        min_new_tokens=None,
        do_sample=False,
        return_dict_in_generate=True,
        **kwargs,
    )
    sync(str(prompt.device))
    return time.perf_counter() - start, out


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

    model = build_model(preset, args.device)
    gen = torch.Generator().manual_seed(1)
    prompt = torch.randint(3, preset["config"]["vocab_size"], (1, preset["prompt_tokens"]), generator=gen)
    prompt = prompt.to(args.device)

    with torch.inference_mode():
        timed_generate(model, prompt, 8)  # warm-up: kernels, allocator, caches
        timed_generate(model, prompt, 8, logits_processor=[StatsCollector(top_k=5)])
        plain_s: list[float] = []
        collect_s: list[float] = []
        for r in range(repeats):
            # Alternate which side runs first so slow drift on a shared machine cancels out.
            collector = StatsCollector(top_k=5)
            for side in ("plain", "collect") if r % 2 == 0 else ("collect", "plain"):
                if side == "plain":
                    t_plain, plain = timed_generate(model, prompt, new_tokens)
                else:
                    t_coll, out = timed_generate(model, prompt, new_tokens, logits_processor=[collector])
            plain_s.append(t_plain)
            collect_s.append(t_coll)
        assert torch.equal(plain.sequences, out.sequences), "the collector changed the generation"
        collector_bytes = collector.retained_bytes()
        stats = collector.finalize(out.sequences)[0]
        _, with_logits = timed_generate(model, prompt, new_tokens, output_logits=True)
        logits_bytes = sum(t.nelement() * t.element_size() for t in with_logits.logits)

    n_tokens = out.sequences.shape[1] - prompt.shape[1]
    assert n_tokens == new_tokens == len(stats), (n_tokens, new_tokens, len(stats))
    plain_med, coll_med = statistics.median(plain_s), statistics.median(collect_s)
    params = sum(p.numel() for p in model.parameters())
    result = {
        "bench": "gate_overhead",
        "preset": args.preset,
        "device": args.device,
        "dtype": preset["dtype"],
        "params": params,
        "vocab": preset["config"]["vocab_size"],
        "hidden": preset["config"]["hidden_size"],
        "new_tokens": n_tokens,
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
        "plain_s": round(plain_med, 4),
        "collector_s": round(coll_med, 4),
        "time_ratio": round(coll_med / plain_med, 4),
        "time_ratio_min": round(min(collect_s) / min(plain_s), 4),
        "time_ratio_pairs_median": round(
            statistics.median([c / p for c, p in zip(collect_s, plain_s, strict=True)]), 4
        ),
        "collector_bytes": collector_bytes,
        "output_logits_bytes": logits_bytes,
        "memory_ratio": round(logits_bytes / collector_bytes, 1),
        "mean_self_certainty": stats.summary()["mean_self_certainty"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""GGUF files through transformers: dequantise on load, and save as a plain transformers directory.

transformers reads GGUF with the ``gguf`` package and dequantises it into the requested dtype. The
loaded model keeps a GGUF "quantizer" that makes ``save_pretrained`` refuse it ("quantized with
gguf and is not serializable"); after dequantisation nothing is quantised any more, so the quantizer
and ``config.quantization_config`` are dropped before saving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_gguf(directory: Path, gguf_file: str, dtype: Any) -> tuple[Any, Any]:
    """(model, tokenizer) from ``directory/gguf_file``, dequantised to ``dtype``, on the CPU."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(directory), gguf_file=gguf_file, local_files_only=True)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(directory), gguf_file=gguf_file, dtype=dtype, local_files_only=True
    )
    return plain(model), tokenizer


def plain(model: Any) -> Any:
    """The dequantised model without its GGUF quantizer, so it saves (and reports) as plain weights."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    return model


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Write a float32 transformers directory (config, safetensors, tokenizer, chat template)."""
    import torch

    model, tokenizer = load_gguf(gguf_path.parent, gguf_path.name, torch.float32)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))

"""Where and in which precision a local model runs: ``"auto"`` picks the accelerator and its dtype.

Both are checked when the model loads, so ``INTROSPECT_MODEL_DEVICE=cuda`` on a machine without CUDA,
or half precision where it cannot run, stops ``serve``/``worker`` at start with one line instead of
failing inside the first job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

DTYPE_ALIASES = {
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "half": "float16",
    "float16": "float16",
    "fp32": "float32",
    "float": "float32",
    "float32": "float32",
}


class DeviceError(ValueError):
    """The configured device or dtype cannot run here (one line for the operator)."""


def resolve_device(device: str) -> str:
    import torch

    if device != "auto":
        check_device(device)
        return device
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def check_device(device: str) -> None:
    import torch

    kind = device.split(":", 1)[0]
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"model device {device!r} requested but torch sees no CUDA device")
        index = device.split(":", 1)[1] if ":" in device else "0"
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise DeviceError(f"model device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif kind == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(f"model device {device!r} requested but MPS is not available here")
    elif kind != "cpu":
        raise DeviceError(f"unknown model device {device!r}: use auto, cpu, cuda, cuda:N or mps")


def resolve_dtype(dtype: Any, device: str) -> torch.dtype:
    import torch

    if isinstance(dtype, torch.dtype):
        resolved = dtype
    elif dtype != "auto":
        name = DTYPE_ALIASES.get(str(dtype).lower())
        if name is None:
            raise DeviceError(f"unknown model dtype {dtype!r}: use auto, float32, bfloat16 or float16")
        resolved = getattr(torch, name)
    elif device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        return torch.float32
    check_dtype(resolved, device)
    return resolved


def check_dtype(dtype: torch.dtype, device: str) -> None:
    """Half precision is tried with one small matmul on the device: what the model's layers need."""
    import torch

    if dtype == torch.bfloat16 and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise DeviceError("model dtype bfloat16 is not supported by this CUDA device; use float16")
    if dtype in (torch.float16, torch.bfloat16):
        try:
            x = torch.ones(4, 4, dtype=dtype, device=device)
            torch.nn.functional.softmax(x @ x, dim=-1)
        except (RuntimeError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DeviceError(f"model dtype {dtype} cannot run on {device}: {first}") from None

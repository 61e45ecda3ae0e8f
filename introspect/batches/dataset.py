"""Dataset rows -> job requests, validated before any job exists; every error names its row.

A row is a JSON object with ``prompt`` or ``messages`` and optionally ``reference``, ``verifier``,
``id``, ``metadata``, ``corpus`` and a per-row ``graph`` and ``config`` (merged over the batch's).
Public data sets keep their own column names: a GSM8K row (``question``, ``answer`` ending in
``#### N``) is read as prompt + reference ``N`` without any flag, and ``--columns
prompt=problem,reference=solution`` maps any other names. A row without an ``id`` gets one from its
content, so reading the same file again yields the same ids (what makes a rerun continue a batch).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from introspect.config import Settings
from introspect.runner.errors import JobValidationError
from introspect.runner.spec import parse_job

INPUT_KEYS = ("prompt", "messages", "reference", "verifier", "corpus")
ROW_KEYS = frozenset({*INPUT_KEYS, "id", "metadata", "graph", "config"})
MAX_ROW_ID_CHARS = 200
# GSM8K writes the final answer after "####"; numbers may carry thousands separators ("1,200").
_GSM8K_FINAL = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


class DatasetError(ValueError):
    """A dataset that cannot be run; the message names the file and row."""


@dataclass(frozen=True)
class DatasetRow:
    row_id: str
    graph: str
    input: dict[str, Any]
    config: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadDataset:
    rows: list[DatasetRow]
    sha256: str  # of the file's bytes: the default batch identity


def parse_columns(spec: str | None) -> dict[str, str]:
    """``"prompt=question,reference=answer"`` -> ``{"prompt": "question", "reference": "answer"}``."""
    if not spec:
        return {}
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        target, sep, source = (p.strip() for p in part.partition("="))
        if not sep or not target or not source:
            raise DatasetError(f"--columns: {part!r} is not TARGET=SOURCE (e.g. prompt=question)")
        if target not in ROW_KEYS:
            raise DatasetError(
                f"--columns: unknown target {target!r}; targets: {', '.join(sorted(ROW_KEYS))}"
            )
        mapping[target] = source
    return mapping


def gsm8k_reference(answer: str) -> str:
    """The final answer of a GSM8K solution (text after ``####``, separators dropped), else the text."""
    match = _GSM8K_FINAL.search(answer)
    final = match.group(1) if match else answer
    return final.replace(",", "").strip()


def _mapped(raw: Mapping[str, Any], columns: Mapping[str, str], where: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    sources = set(columns.values())
    for target, source in columns.items():
        if source not in raw:
            raise DatasetError(
                f"{where}: no column {source!r} (mapped to {target!r}); columns: {sorted(raw)}"
            )
        row[target] = raw[source]
    no_prompt = not ({"prompt", "messages"} & (row.keys() | raw.keys()))
    if no_prompt and "question" in raw:  # GSM8K and its many look-alikes
        row["prompt"] = raw["question"]
        sources.add("question")
        if "answer" in raw and "reference" not in row and "reference" not in raw:
            if not isinstance(raw["answer"], str | int | float) or isinstance(raw["answer"], bool):
                raise DatasetError(f"{where}: 'answer' must be text or a number")
            row["reference"] = gsm8k_reference(str(raw["answer"]))
            extra["solution"] = raw["answer"]
            sources.add("answer")
    mapped_shape = bool(columns) or bool(sources)
    for key, value in raw.items():
        if key in sources or key in row:
            continue
        if key in ROW_KEYS:
            row[key] = value
        elif mapped_shape:
            extra[key] = value  # a public data set's other columns are kept, not refused
        else:
            known = ", ".join(sorted(ROW_KEYS))
            raise DatasetError(
                f"{where}: unknown field {key!r}; fields: {known} (or map columns with --columns)"
            )
    if extra:
        meta = row.get("metadata") or {}
        if not isinstance(meta, dict):
            raise DatasetError(f"{where}: 'metadata' must be an object")
        row["metadata"] = {**extra, **meta}
    return row


def _row_id(value: Any, row: Mapping[str, Any], seen: dict[str, int], where: str) -> str:
    if value is None:
        content = json.dumps({k: row.get(k) for k in INPUT_KEYS}, sort_keys=True, ensure_ascii=False)
        base = hashlib.sha256(content.encode()).hexdigest()[:16]
        seen[base] = seen.get(base, 0) + 1  # identical rows stay distinct rows: base, base-2, ...
        return base if seen[base] == 1 else f"{base}-{seen[base]}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetError(f"{where}: 'id' must be a string or an integer")
    text = str(value)
    if not text or len(text) > MAX_ROW_ID_CHARS:
        raise DatasetError(f"{where}: 'id' must have 1 to {MAX_ROW_ID_CHARS} characters")
    if text in seen:
        raise DatasetError(f"{where}: duplicate id {text!r}")
    seen[text] = 1
    return text


def normalise_row(
    raw: Any,
    where: str,
    *,
    graph: str,
    config: Mapping[str, Any],
    columns: Mapping[str, str],
    seen: dict[str, int],
    settings: Settings | None = None,
) -> DatasetRow:
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: a row must be a JSON object, not {type(raw).__name__}")
    row = _mapped(raw, columns, where)
    reference = row.get("reference")
    if isinstance(reference, int | float) and not isinstance(reference, bool):
        row["reference"] = str(reference)
    row_graph = row.get("graph", graph)
    row_config = row.get("config") or {}
    metadata = row.get("metadata") or {}
    if not isinstance(row_graph, str):
        raise DatasetError(f"{where}: 'graph' must be a string")
    if not isinstance(row_config, dict):
        raise DatasetError(f"{where}: 'config' must be an object")
    if not isinstance(metadata, dict):
        raise DatasetError(f"{where}: 'metadata' must be an object")
    job_input = {k: row[k] for k in INPUT_KEYS if row.get(k) is not None}
    merged = {**config, **row_config}
    try:
        parse_job(row_graph, job_input, merged, settings)
    except JobValidationError as exc:
        raise DatasetError(f"{where}: {exc.message}") from None
    row_id = _row_id(row.get("id"), job_input, seen, where)
    return DatasetRow(row_id=row_id, graph=row_graph, input=job_input, config=merged, metadata=metadata)


def rows_from(
    items: Iterable[Any],
    *,
    graph: str,
    config: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    label: str = "row",
    first: int = 1,
) -> list[DatasetRow]:
    """Validated rows; ``label``/``first`` name a bad one ("line 3", or "rows[2]" for the API)."""
    seen: dict[str, int] = {}
    out = []
    for number, raw in enumerate(items, start=first):
        where = f"{label}[{number}]" if label == "rows" else f"{label} {number}"
        out.append(
            normalise_row(
                raw,
                where,
                graph=graph,
                config=config or {},
                columns=columns or {},
                seen=seen,
                settings=settings,
            )
        )
    return out


def read_dataset(
    path: Path,
    *,
    graph: str,
    config: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> ReadDataset:
    """Every row of a JSONL file (blank lines skipped), validated; DatasetError names the bad line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    parsed: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} line {number}: not JSON ({exc.msg})") from None
    if not parsed:
        raise DatasetError(f"{path}: no rows")
    seen: dict[str, int] = {}
    rows = [
        normalise_row(
            raw,
            f"{path} line {number}",
            graph=graph,
            config=config or {},
            columns=columns or {},
            seen=seen,
            settings=settings,
        )
        for number, raw in parsed
    ]
    return ReadDataset(rows=rows, sha256=hashlib.sha256(data).hexdigest())

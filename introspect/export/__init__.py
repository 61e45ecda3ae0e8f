"""Trace export for fine-tuning (design.md §6): RISE, SFT, preference, KTO, RL and raw rows, streamed.

Use :func:`export_to_file` (file + manifest) or :func:`stream_export` (encoded chunks, for HTTP);
:data:`FORMATS` lists the formats. Filters and options are validated by their dataclasses.
"""

from __future__ import annotations

from introspect.export.episode import Attempt, Episode, build_episode
from introspect.export.files import export_to_file
from introspect.export.formats import FORMATS, ExportFormat, get_format, rise_weight
from introspect.export.manifest import Manifest, code_version, manifest_path
from introspect.export.options import (
    DEFAULT_TAU,
    ExportFilters,
    ExportOptions,
    ExportParameterError,
    split_of,
)
from introspect.export.stream import ExportStats, count_matching, iter_rows, stream_export

__all__ = [
    "DEFAULT_TAU",
    "FORMATS",
    "Attempt",
    "Episode",
    "ExportFilters",
    "ExportFormat",
    "ExportOptions",
    "ExportParameterError",
    "ExportStats",
    "Manifest",
    "build_episode",
    "code_version",
    "count_matching",
    "export_to_file",
    "get_format",
    "iter_rows",
    "manifest_path",
    "rise_weight",
    "split_of",
    "stream_export",
]

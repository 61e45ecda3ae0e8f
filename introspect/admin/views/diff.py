"""Word-level diff of a revision against the previous attempt (difflib's Ratcliff/Obershelp matcher).

Words, runs of whitespace and single punctuation marks are the units, so a changed digit shows as a
changed word rather than a re-flowed paragraph, and joining the segments gives back both texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

_UNITS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

Op = Literal["equal", "insert", "delete"]


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


@dataclass(frozen=True)
class TextDiff:
    segments: list[Segment]
    inserted: int
    deleted: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.deleted)


def _is_word(unit: str) -> bool:
    return unit[:1].isalnum() or unit[:1] == "_"


def word_diff(before: str, after: str) -> TextDiff:
    a, b = _UNITS.findall(before), _UNITS.findall(after)
    # autojunk off: on long answers difflib would otherwise treat frequent words (spaces) as junk.
    matcher = SequenceMatcher(a=a, b=b, autojunk=False)
    segments: list[Segment] = []
    inserted = deleted = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(Segment("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("delete", "".join(a[i1:i2])))
            deleted += sum(1 for u in a[i1:i2] if _is_word(u))
        if j2 > j1:
            segments.append(Segment("insert", "".join(b[j1:j2])))
            inserted += sum(1 for u in b[j1:j2] if _is_word(u))
    return TextDiff(segments=segments, inserted=inserted, deleted=deleted)

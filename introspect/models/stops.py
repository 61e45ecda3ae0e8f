"""Stop sequences for the local model: a row stops once its decoded text contains one of them.

The text is decoded whole at every step (a token can complete a stop sequence begun several tokens
earlier, and byte-level tokens only decode correctly in context); for answers of a few hundred
tokens that is microseconds per step. The returned text ends before the stop sequence, as OpenAI's
API does; the token ids and statistics keep every generated token, the stop sequence's included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class StopStrings:
    def __init__(self, tokenizer: Any, stops: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self.stops = [s for s in stops if s]

    def text_before_stop(self, ids: Sequence[int]) -> str | None:
        """The decoded text up to the first stop sequence in it, or None when it holds none."""
        if not self.stops:
            return None
        text = str(self.tokenizer.decode(list(ids), skip_special_tokens=True))
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        return text[: min(hits)] if hits else None

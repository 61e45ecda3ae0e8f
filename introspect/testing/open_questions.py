"""Open questions with a reference the loop never sees, for tests and benchmarks on real models.

A reply counts as right when it contains one of the reference's spellings as a whole word; the
reference is only used to grade, never passed to the job (no verifier, no critic can read it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenQuestion:
    prompt: str
    answers: tuple[str, ...]  # accepted spellings

    def is_right(self, text: str | None) -> bool:
        return any(re.search(rf"\b{re.escape(a)}\b", text or "", re.IGNORECASE) for a in self.answers)


OPEN_QUESTIONS: tuple[OpenQuestion, ...] = (
    OpenQuestion("What is the capital of France?", ("Paris",)),
    OpenQuestion("What is the capital of Japan?", ("Tokyo",)),
    OpenQuestion("What is the capital of Italy?", ("Rome",)),
    OpenQuestion("What is the capital of Germany?", ("Berlin",)),
    OpenQuestion("What is the capital of Spain?", ("Madrid",)),
    OpenQuestion("What is the capital of Egypt?", ("Cairo",)),
    OpenQuestion("What is the capital of Canada?", ("Ottawa",)),
    OpenQuestion("What is the capital of Australia?", ("Canberra",)),
    OpenQuestion("Who wrote Romeo and Juliet?", ("Shakespeare",)),
    OpenQuestion("What is the largest planet in the solar system?", ("Jupiter",)),
    OpenQuestion("What is the chemical symbol for gold?", ("Au",)),
    OpenQuestion("Which is the largest ocean on Earth?", ("Pacific",)),
    OpenQuestion("How many legs does a spider have?", ("eight", "8")),
    OpenQuestion("How many days are there in a week?", ("seven", "7")),
    OpenQuestion("What gas do plants absorb from the air for photosynthesis?", ("carbon dioxide", "CO2")),
    OpenQuestion("At what temperature in degrees Celsius does water boil at sea level?", ("100",)),
    OpenQuestion("What is the colour of a clear daytime sky?", ("blue",)),
    OpenQuestion("Which planet is known as the Red Planet?", ("Mars",)),
    OpenQuestion("What is the freezing point of water in degrees Celsius?", ("0", "zero")),
    OpenQuestion("Who painted the Mona Lisa?", ("Leonardo", "da Vinci")),
)

"""Cross-pilot comparison: a question about how the pilots did something is answered per pilot, side by side."""
from __future__ import annotations

import re

from knowledge.pilots import PILOTS, pilots_in
from knowledge.textnorm import fold

_COMPARE = re.compile(
    r"\b(?:pilotene|alle (?:fire )?pilot\w*|hver (?:av )?pilot\w*|de fire pilot\w*|hver kommune|sammenlign\w*|"
    r"forskjell(?:en|ene)? mellom pilot\w*|compare|comparison|the pilots|each pilot|all (?:four )?pilots|"
    r"per pilot)\b")


def is_comparison(question: str) -> bool:
    """True for questions about the pilots as a group, unless they name exactly one pilot."""
    return bool(_COMPARE.search(fold(question))) and len(pilots_in(question)) != 1


def pilots_to_compare(question: str) -> list[str]:
    named = pilots_in(question)
    return named if len(named) >= 2 else list(PILOTS)


def per_pilot_question(question: str, pilot: str, lang: str) -> str:
    """'Hvordan har pilotene organisert kontorfellesskap?' -> 'Hvordan har Narvik organisert kontorfellesskap?'."""
    q = re.sub(r"(?i)\b(?:sammenlign|compare)\s+(?:pilotene|the pilots)\s+(?:på|pa|on|om)\b:?", "", question)
    q, n = re.subn(r"(?i)\b(?:alle (?:fire )?pilotene|de fire pilotene|hver (?:av )?pilotene|pilotene|hver pilot|"
                   r"all (?:four )?(?:the )?pilots|each pilot|the pilots)\b", pilot, q)
    q = " ".join(q.split()).strip()
    return q if n else f"{q} ({'i' if lang != 'en' else 'in'} {pilot})"

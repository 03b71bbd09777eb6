"""Rule-based tags: which pilot a passage is about, and whether it states a lesson, recommendation, risk, decision or deviation."""
from __future__ import annotations

import re

from knowledge.pilots import PILOTS, pilots_in
from knowledge.textnorm import fold

LESSON_RULES = {
    "lesson": r"\b(?:erfaring(?:er|ene)?\s+(?:viser|tilsier|fra)|laerdom|laerte|viktig(?:e)? (?:a|laering)|suksess\s?faktor|"
              r"har vist seg|lessons? learned|we learned|key lesson)",
    "recommendation": r"\b(?:anbefal\w*|bor (?:\w+ )?(?:vaere|bli|ha|ta|fa|gis|etablere|vurdere|prioritere)|"
                      r"vi (?:foreslar|mener)|recommend\w*|should)\b",
    "risk": r"\b(?:risiko\w*|sarbar\w*|utfordring(?:en|er|ene)?|trussel|fare for|risk\w*|challenge\w*)\b",
    "decision": r"\b(?:vedt\w*|beslutt\w*|besluttet|godkjen\w*|ble enige|decided|decision\w*|approved)\b",
    "deviation": r"\b(?:avvik\w*|forsink\w*|ikke gjennomfort|lagt ned|ble redusert|redusert fra|trakk seg|"
                 r"stanset|utsatt|deviat\w*|delay\w*|cancel\w*)\b",
}
_LESSON_RE = {k: re.compile(v) for k, v in LESSON_RULES.items()}


def pilots_for(text: str, section_path: list[str], doc_pilots: list[str]) -> list[str]:
    """Pilots named in the passage, else those its section (or chapter) is about, else the document's only pilot."""
    found = pilots_in(text)
    if found:
        return found
    for title in reversed(section_path):
        named = pilots_in(title)
        if named:
            return named
    return list(doc_pilots) if len(doc_pilots) == 1 else []


def lessons_in(text: str) -> list[str]:
    f = fold(text)
    return [k for k, rx in _LESSON_RE.items() if rx.search(f)]

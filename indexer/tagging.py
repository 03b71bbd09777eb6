"""Rule-based tags: which pilot a passage is about, and whether it states a lesson, recommendation, risk, decision or deviation."""
from __future__ import annotations

import re

from knowledge.textnorm import fold

# Names and places per pilot, with OCR variants (../shared/notes/users.md §7); matched on folded text.
PILOT_TERMS = {
    "Stad": ["stad", "selje", "nordfjordeid", "nordfjord", "distriktshub vestland", "fjordspenn", "nordfjordradet",
             "fjordane ipr", "norec"],
    "Orkland": ["orkland", "orkanger", "orkdal", "meldal", "agdenes", "snillfjord", "orkdalsregionen",
                "utenforskapsprogrammet", "innovasjonshub orkland", "lakseregionen", "thams innovasjon"],
    "Narvik": ["narvik", "ofoten", "ballangen", "tysfjord", "evenes", "sentrumsgarden", "narvikgarden",
               "morketidsmagi", "bank of pains", "narvikregionen"],
    "Lyngdal": ["lyngdal", "lygdal", "audnedal", "regionlab lister", "regionlabben", "listersamarbeidet",
                "lister ipr", "lister regionen", "listerregionen", "haegebostad"],
}
PILOTS = list(PILOT_TERMS)
_PILOT_RE = {p: re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\w*") for p, terms in PILOT_TERMS.items()}

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


def pilots_in(text: str) -> list[str]:
    f = fold(text)
    return [p for p in PILOTS if _PILOT_RE[p].search(f)]


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

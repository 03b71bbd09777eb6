"""The four pilots and the names that point to them, shared by tagging (indexer) and question routing (retrieval)."""
from __future__ import annotations

import re

from .textnorm import fold

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


def pilots_in(text: str) -> list[str]:
    """Pilots a text names, by place, organisation or project name (OCR variants included)."""
    f = fold(text)
    return [p for p in PILOTS if _PILOT_RE[p].search(f)]

"""Rule-based tags: which pilot a passage is about, and whether it states a lesson, recommendation, risk, decision or deviation."""
from __future__ import annotations

import re

from knowledge.pilots import pilots_in
from knowledge.textnorm import fold

# Measured against hand labels in eval/lesson_labels.jsonl (tests/test_lesson_tags.py keeps the floor).
LESSON_RULES = {
    "lesson": r"\b(?:erfaring(?:er|en|ene)?\s+(?:viser|tilsier|(?:er|var) at)|erfart|laerdom\w*|laerte|erkjent|"
              r"har (?:tydelig )?vist(?: seg)?|(?:er|var) en suksessfaktor|lessons? learned|we learned|key lesson)\b",
    "recommendation": r"\b(?:anbefaler|anbefalte (?:at|a)|ble anbefalt|anbefales|burde|bor (?:\w+ ){0,2}(?:vaere|bli|ha|ta|fa|gis|"
                      r"etablere|vurdere\w*|prioritere\w*|koordinere\w*|\w+es)|viktig a|vi (?:foreslar|mener)|"
                      r"ble det foreslatt|recommend\w*|should)\b",
    "risk": r"\b(?:risik(?!ofaktor|ovilje)\w*|sarbar\w*|(?:en|stor|store|flere|storste|viktig|var|er) utfordring\w*|"
            r"utfordring(?:en|er|ene)? (?:med|knyttet til|for|var|er)|sto overfor|krevende|barrierer?|trussel|fare for|"
            r"risk\w*|challenge\w*)\b",
    "decision": r"\b(?:vedtok|ble vedtatt|fattet vedtak|besluttet a|ble besluttet|godkjente|ble godkjent|ble enige|"
                r"gront lys|decided|approved)\b",
    "deviation": r"\b(?:avvik\w*|forsinke[dt]|forsinkelse(?!srent)\w*|ikke gjennomfort|ble lagt ned|ble redusert|redusert fra|"
                 r"trakk seg|stanset|utsatt|forlenget|urealistisk|ble slatt sammen|deviat\w*|delay\w*|cancel\w*)\b",
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


def lesson_precision(rows: list[dict]) -> dict:
    """Per-tag precision/recall/support and micro precision/recall of rows' predicted tags against their gold tags."""
    counts = {tag: {"tp": 0, "fp": 0, "fn": 0} for tag in LESSON_RULES}
    for row in rows:
        predicted, gold = set(row["predicted"]), set(row["gold"])
        for tag, c in counts.items():
            c["tp"] += tag in predicted and tag in gold
            c["fp"] += tag in predicted and tag not in gold
            c["fn"] += tag in gold and tag not in predicted

    def ratio(num: int, den: int) -> float | None:
        return num / den if den else None

    per_tag = {tag: {"precision": ratio(c["tp"], c["tp"] + c["fp"]), "recall": ratio(c["tp"], c["tp"] + c["fn"]),
                     "support": c["tp"] + c["fn"], "predicted": c["tp"] + c["fp"], "tp": c["tp"]}
               for tag, c in counts.items()}
    tp = sum(c["tp"] for c in counts.values())
    return {"per_tag": per_tag,
            "micro_precision": ratio(tp, tp + sum(c["fp"] for c in counts.values())),
            "micro_recall": ratio(tp, tp + sum(c["fn"] for c in counts.values()))}

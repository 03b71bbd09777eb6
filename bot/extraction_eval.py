"""Precision and recall of minutes extraction against hand labels (eval/minutes_labelled.jsonl)."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from knowledge.textnorm import EN_STOP, NB_STOP, fold

from .extraction import ActionItem, Extraction, extract_text

_STOP = {fold(w) for w in NB_STOP | EN_STOP} | {"a", "å", "skal", "will", "to"}


def _tokens(text: str) -> set[str]:
    return {w for w in fold(text or "").split() if w not in _STOP}


def text_match(expected: str, predicted: str) -> bool:
    """Most of the expected words are in the prediction, and the prediction is not mostly other words."""
    e, p = _tokens(expected), _tokens(predicted)
    if not e or not p:
        return not e and not p
    common = len(e & p)
    return common / len(e) >= 0.6 and common / len(p) >= 0.3


def owner_match(expected: str | None, predicted: str | None) -> bool:
    """Same person: one name's words contain the other's («Gaute» / «prosjektleder Gaute Skoglund»)."""
    if not expected or not predicted:
        return not expected and not predicted
    e, p = set(fold(expected.lstrip("@")).split()), set(fold(predicted.lstrip("@")).split())
    return bool(e and p) and (e <= p or p <= e)


def due_match(expected: dict, predicted: dict) -> bool:
    if expected.get("due"):
        return predicted.get("due") == expected["due"]
    if expected.get("due_text"):
        return not predicted.get("due") and fold(expected["due_text"]) in fold(predicted.get("due_text") or "")
    return not predicted.get("due") and not predicted.get("due_text")


def _pairs(expected: list, predicted: list, same) -> int:
    """Greedy one-to-one matching; returns the number of matched pairs."""
    used, n = set(), 0
    for e in expected:
        for i, p in enumerate(predicted):
            if i not in used and same(e, p):
                used.add(i)
                n += 1
                break
    return n


def _prf(tp: int, n_pred: int, n_exp: int) -> dict:
    return {"precision": round(tp / n_pred, 3) if n_pred else 1.0, "recall": round(tp / n_exp, 3) if n_exp else 1.0,
            "expected": n_exp, "predicted": n_pred, "matched": tp}


def load_labels(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


_DECISION_WORDS = re.compile(r"\b(vedtak|vedtok|vedtatt|besluttet|beslutning|enige|decided|agreed|decision)\b", re.I)
_ACTION_WORDS = re.compile(r"\b(skal|sender|ansvar|innen|oppgave|will|action|by)\b", re.I)


def keyword_baseline(text: str, meeting: date | None = None) -> Extraction:
    """What a quick script would do, the baseline for the figures: a line with a decision word is a decision, a
    line with an obligation word an action item owned by its first capitalised word, with no due date."""
    ex = Extraction()
    for line in (ln.strip(" -•*\t") for ln in text.splitlines()):
        if not line:
            continue
        if _DECISION_WORDS.search(line):
            ex.decisions.append(line)
        elif _ACTION_WORDS.search(line):
            owner = next((w.strip(".,:") for w in line.split() if w[:1].isupper()), None)
            ex.actions.append(ActionItem(line, owner))
    return ex


def evaluate(items: list[dict], extractor=extract_text) -> dict:
    """Decisions match on text; action items on text, owner and due date (ISO, or the phrase when kept as text)."""
    totals = {"decisions": [0, 0, 0], "actions": [0, 0, 0]}
    misses = []
    for item in items:
        ex = extractor(item["text"], date.fromisoformat(item["date"]))
        d_tp = _pairs(item["decisions"], ex.decisions, text_match)
        preds = [a.__dict__ for a in ex.actions]
        a_tp = _pairs(item["actions"], preds, lambda e, p: text_match(e["text"], p["text"])
                      and owner_match(e.get("owner"), p["owner"]) and due_match(e, p))
        for key, tp, n_pred, n_exp in (("decisions", d_tp, len(ex.decisions), len(item["decisions"])),
                                       ("actions", a_tp, len(preds), len(item["actions"]))):
            totals[key][0] += tp
            totals[key][1] += n_pred
            totals[key][2] += n_exp
        if d_tp < max(len(ex.decisions), len(item["decisions"])) or a_tp < max(len(preds), len(item["actions"])):
            misses.append({"id": item["id"], "decisions": ex.decisions, "actions": preds,
                           "expected_decisions": item["decisions"], "expected_actions": item["actions"]})
    return {"n": len(items), "decisions": _prf(*totals["decisions"]), "actions": _prf(*totals["actions"]),
            "misses": misses}

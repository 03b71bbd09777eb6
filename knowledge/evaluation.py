"""Retrieval evaluation on a JSONL question set: Hit@1, Hit@5, MRR@10, by language, with the hits it judged."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from .textnorm import collapse

# A hit "covers" the evidence when the evidence is in it verbatim (whitespace and case collapsed),
# or when most of the evidence's words are present (evidence may be cut mid-sentence or span a hyphen).
MOST_WORDS = 0.7


def load_questions(path: str | Path, require_answer: bool = True) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise ValueError(f"{path}:{n}: not valid JSON ({e})") from None
        needed = ("id", "question", "source", "evidence") if require_answer else ("id", "question")
        missing = [f for f in needed if f not in row]
        if missing:
            raise ValueError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        rows.append(row)
    return rows


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def covers(passage_text: str, evidence: str) -> bool:
    p, e = collapse(passage_text), collapse(evidence)
    if e and e in p:
        return True
    ev = _tokens(evidence)
    if not ev:
        return False
    have = set(_tokens(passage_text))
    return sum(t in have for t in ev) / len(ev) >= MOST_WORDS


def is_hit(hit: dict, item: dict) -> bool:
    return hit["document"] == item["source"] and covers(hit["text"], item["evidence"])


def evaluate(items: list[dict], search: Callable[[dict], list[dict]], k: int = 10) -> dict:
    """`search(item)` returns hit dicts (rank, document, section, page, score, text); scores them."""
    results, first_ranks = [], []
    for item in items:
        hits = search(item)[:k]
        rank = next((h["rank"] for h in hits if is_hit(h, item)), None)
        first_ranks.append((item.get("lang", "nb"), rank))
        results.append({"id": item["id"], "question": item["question"], "lang": item.get("lang", "nb"),
                        "source": item["source"], "first_hit_rank": rank, "hits": hits})
    return {"metrics": metrics(first_ranks), "results": results}


def metrics(first_ranks: list[tuple[str, int | None]]) -> dict:
    def block(ranks):
        n = len(ranks) or 1
        return {"n": len(ranks),
                "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
                "hit@5": round(sum(1 for r in ranks if r and r <= 5) / n, 4),
                "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4)}
    out = block([r for _, r in first_ranks])
    langs = sorted({l for l, _ in first_ranks})
    out["by_lang"] = {l: block([r for x, r in first_ranks if x == l]) for l in langs}
    return out


def refusals(ask, answerable: list[dict], unanswerable: list[dict]) -> dict:
    """How often `ask` answers the answerable questions and declines the unanswerable ones (calibration check)."""
    answered = sum(1 for it in answerable if ask(it["question"]).found)
    declined = sum(1 for it in unanswerable if not ask(it["question"]).found)
    return {"answered": round(answered / max(1, len(answerable)), 4),
            "declined_unanswerable": round(declined / max(1, len(unanswerable)), 4),
            "n_answerable": len(answerable), "n_unanswerable": len(unanswerable)}

"""Submitted status answers as passages (kind=status), private to their pilot, so answers cite the month's report.

Takes plain data (the stored answer and the form's fields), like indexer/minutes.py; one document per pilot and
month, replaced by each new version.
"""
from __future__ import annotations

import hashlib
import json

from knowledge import Document, Knowledge, Passage
from knowledge.textnorm import fold

from . import tagging

WORDS_PER_PASSAGE = 150
MONTHS = {"nb": ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
                 "november", "desember"],
          "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December"]}
HEAD = {"nb": "Månedsstatus", "en": "Monthly status"}


def status_title(pilot: str, month: str, lang: str = "nb") -> str:
    """'Månedsstatus Narvik mars 2025'."""
    y, m = month.split("-")
    return f"{HEAD.get(lang, HEAD['nb'])} {pilot} {MONTHS.get(lang, MONTHS['nb'])[int(m) - 1]} {y}"


def _chunks(text: str, limit: int = WORDS_PER_PASSAGE) -> list[str]:
    """Paragraphs kept together up to ~`limit` words; a longer paragraph is split between words."""
    out, cur = [], []
    for para in [p.strip() for p in text.split("\n") if p.strip()]:
        words = para.split()
        while len(words) > limit:
            if cur:
                out.append("\n".join(cur))
                cur = []
            out.append(" ".join(words[:limit]))
            words = words[limit:]
        if cur and sum(len(c.split()) for c in cur) + len(words) > limit:
            out.append("\n".join(cur))
            cur = []
        cur.append(" ".join(words))
    if cur:
        out.append("\n".join(cur))
    return out


def build(answer: dict, fields: list, lang: str = "nb") -> tuple[Document, list[Passage], list[str]]:
    """Document, passages and texts to embed for the latest version of one pilot's answer for one month."""
    pilot, month, values = answer["pilot"], answer["month"], answer["answers"]
    title = status_title(pilot, month, lang)
    sections: dict[str, list[str]] = {}
    for f in fields:
        value = (values.get(f.key) or "").strip()
        if not value:
            continue
        label = f.text("label", lang)
        section = f.text("section", lang) or label
        if f.kind == "text" and section == label:
            sections.setdefault(section, []).append(value)
        else:
            sections.setdefault(section, []).append(f"{label}: {value}")
    visibility = f"private:{pilot}"
    day = f"{month}-01"
    passages, texts = [], []
    for section, lines in sections.items():
        for chunk in _chunks("\n".join(lines)):
            text = f"{title} – {section}\n{chunk}"
            passages.append(Passage(text=text, shadow=fold(text), section_title=section, seq=len(passages),
                                    pilots=[pilot], lessons=tagging.lessons_in(chunk), date=day, kind="status",
                                    visibility=visibility, display=text))
            texts.append(f"{title}. {section}\n{chunk}")
    digest = hashlib.sha256(json.dumps([answer.get("version"), values], ensure_ascii=False).encode()).hexdigest()
    doc = Document(path=f"status://{pilot}/{month}", name=f"status-{pilot.lower()}-{month}", title=title,
                   sha256=digest, publisher=pilot, date=day, kind="status", pilots=[pilot], visibility=visibility)
    return doc, passages, texts


def index_status(knowledge: Knowledge, answer: dict, fields: list, lang: str = "nb") -> Document:
    """Add (or replace) one pilot's status for one month in the knowledge store and refresh the search indexes."""
    doc, passages, texts = build(answer, fields, lang)
    if passages:
        knowledge.add_document(doc, passages, texts)
    else:
        knowledge.store.delete_document(doc.path)
    knowledge.refresh()
    return doc

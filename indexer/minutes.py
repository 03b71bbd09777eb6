"""Accepted meeting minutes as passages (kind=minutes), so answers cite the meeting like a report."""
from __future__ import annotations

import hashlib
import json

from knowledge import Document, Knowledge, Passage
from knowledge.textnorm import fold

from . import tagging

WORDS_PER_PASSAGE = 150
LABELS = {"nb": {"decisions": "Vedtak", "actions": "Oppgaver", "questions": "Åpne spørsmål", "topics": "Temaer",
                 "participants": "Deltakere", "record": "Referat", "owner": "ansvar", "due": "frist"},
          "en": {"decisions": "Decisions", "actions": "Action items", "questions": "Open questions", "topics": "Topics",
                 "participants": "Participants", "record": "Minutes", "owner": "owner", "due": "due"}}


def minutes_title(rec: dict) -> str:
    head = " ".join(x for x in [rec["type"].capitalize(), ", ".join(rec["pilots"]), rec["date"][:10]] if x)
    return f"{head} – {rec['title']}" if rec.get("title") else head


def _chunks(lines: list[str], limit: int = WORDS_PER_PASSAGE) -> list[list[str]]:
    out, cur, n = [], [], 0
    for line in lines:
        w = len(line.split())
        if cur and n + w > limit:
            out.append(cur)
            cur, n = [], 0
        cur.append(line)
        n += w
    if cur:
        out.append(cur)
    return out


def build(rec: dict, messages: list[dict] | None = None) -> tuple[Document, list[Passage], list[str]]:
    """Document, passages and texts to embed for one accepted minutes record."""
    L = LABELS.get(rec.get("lang") or "nb", LABELS["nb"])
    c = rec["content"]
    title = minutes_title(rec)
    visibility = "private:" + ",".join(rec["pilots"]) if rec["pilots"] else "programme"
    sections: list[tuple[str, list[str]]] = []
    head = [title]
    if c.get("summary"):
        head.append(f"{L['topics']}: {c['summary']}")
    if rec.get("participants"):
        head.append(f"{L['participants']}: {', '.join(rec['participants'])}")
    sections.append(("", head))
    if c.get("decisions"):
        sections.append((L["decisions"], [f"{L['decisions']}: {d}." for d in c["decisions"]]))
    if c.get("actions"):
        lines = []
        for a in c["actions"]:
            extra = [f"{L['owner']}: {a['owner']}" if a.get("owner") else "",
                     f"{L['due']}: {a.get('due') or a.get('due_text')}" if a.get("due") or a.get("due_text") else ""]
            lines.append(" – ".join([a["text"]] + [x for x in extra if x]) + ".")
        sections.append((L["actions"], lines))
    if c.get("questions"):
        sections.append((L["questions"], list(c["questions"])))
    transcript = [f"{m['author']}: {m['text']}" if m.get("author") and rec.get("source") == "capture" else m["text"]
                  for m in messages or []]
    transcript_lines = [ln for block in transcript for ln in block.split("\n") if ln.strip()]
    if transcript_lines:
        sections.append((L["record"], transcript_lines))
    passages, embed_texts = [], []
    for section, lines in sections:
        for group in _chunks(lines):
            text = "\n".join(group)
            passages.append(Passage(text=text, shadow=fold(f"{title} {text}"), section_title=section,
                                    seq=len(passages), pilots=list(rec["pilots"]) or tagging.pilots_in(text),
                                    lessons=tagging.lessons_in(text), date=rec["date"][:10], kind="minutes",
                                    visibility=visibility, display=text))
            embed_texts.append(f"{title}. {section}\n{text}")
    digest = hashlib.sha256(json.dumps([rec["version"], c, transcript], ensure_ascii=False).encode()).hexdigest()
    doc = Document(path=f"minutes://{rec['id']}", name=f"referat-{rec['id']}", title=title, sha256=digest,
                   publisher="", date=rec["date"][:10], kind="minutes", pilots=list(rec["pilots"]),
                   visibility=visibility)
    return doc, passages, embed_texts


def index_minutes(knowledge: Knowledge, rec: dict, messages: list[dict] | None = None) -> Document:
    """Add (or replace) one accepted minutes record in the knowledge store and refresh the search indexes."""
    doc, passages, texts = build(rec, messages)
    knowledge.add_document(doc, passages, texts)
    knowledge.refresh()
    return doc

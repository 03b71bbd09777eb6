"""A minutes record as Markdown or DOCX, for sharing outside the chat."""
from __future__ import annotations

from pathlib import Path

from indexer.minutes import minutes_title

from .messages import t


def _task(a: dict, lang: str) -> str:
    parts = [a.get("text", "")]
    if a.get("owner"):
        parts.append(f"{t('label_owner', lang)}: {a['owner']}")
    due = a.get("due") or (f"«{a['due_text']}»" if a.get("due_text") else "")
    if due:
        parts.append(f"{t('label_due', lang)}: {due}")
    return " – ".join(parts) + (f" {t('label_check_due', lang)}" if a.get("due_flagged") else "")


def sections(rec: dict) -> list[tuple[str, list[str]]]:
    lang = rec.get("lang") or "nb"
    c = rec["content"]
    out = []
    if rec.get("participants"):
        out.append(({"nb": "Deltakere", "en": "Participants"}.get(lang, "Deltakere"), list(rec["participants"])))
    if c.get("topics"):
        out.append((t("label_topics", lang), list(c["topics"])))
    out.append((t("label_decisions", lang), list(c["decisions"])))
    out.append((t("label_actions", lang), [_task(a, lang) for a in c["actions"]]))
    if c.get("questions"):
        out.append((t("label_questions", lang), list(c["questions"])))
    return out


def to_markdown(rec: dict) -> str:
    status = "" if rec["status"] == "accepted" else f" ({rec['status']}, v{rec['version']})"
    lines = [f"# {minutes_title(rec)}{status}", "",
             f"- Type: {rec['type']}", f"- Dato: {rec['date'][:10]}",
             f"- Pilot: {', '.join(rec['pilots']) or '–'}", ""]
    for head, items in sections(rec):
        lines += [f"## {head}", ""] + ([f"- {x}" for x in items] or ["- –"]) + [""]
    return "\n".join(lines)


def to_docx(rec: dict, path: str | Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading(minutes_title(rec), level=1)
    d.add_paragraph(f"Type: {rec['type']} · Dato: {rec['date'][:10]} · Pilot: {', '.join(rec['pilots']) or '–'}")
    for head, items in sections(rec):
        d.add_heading(head, level=2)
        for x in items or ["–"]:
            d.add_paragraph(x, style="List Bullet")
    d.save(str(path))

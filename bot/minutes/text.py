"""A draft as people read it (chat text) and as they edit it (the form every surface shows, one item per line)."""
from __future__ import annotations

import re
from datetime import date

from indexer.minutes import minutes_title as title_of

from ..extraction import ActionItem, parse_due
from ..messages import t

def render_draft(rec: dict, lang: str) -> str:
    c = rec["content"]
    lines = [t("minutes_draft_head", lang, id=rec["id"], version=rec["version"], title=title_of(rec))]
    if c.get("summary"):
        lines.append(f"{t('label_topics', lang)}: {c['summary']}")
    lines.append(f"{t('label_decisions', lang)}:")
    lines += [f"  {n}. {d}" for n, d in enumerate(c["decisions"], 1)] or [f"  ({t('label_none', lang)})"]
    lines.append(f"{t('label_actions', lang)}:")
    lines += [f"  {n}. {task_line(a, lang)}" for n, a in enumerate(c["actions"], 1)] or [f"  ({t('label_none', lang)})"]
    if c.get("questions"):
        lines.append(f"{t('label_questions', lang)}:")
        lines += [f"  • {q}" for q in c["questions"]]
    return "\n".join(lines)


def task_line(a: dict, lang: str) -> str:
    parts = [a.get("text", "")]
    if a.get("owner"):
        parts.append(f"{t('label_owner', lang)}: {a['owner']}")
    if a.get("due"):
        parts.append(f"{t('label_due', lang)}: {a['due']}" + (f" ({a['due_text']})" if a.get("due_text") else ""))
    elif a.get("due_text"):
        parts.append(f"{t('label_due', lang)}: «{a['due_text']}»")
    line = " – ".join(parts)
    return line + (f" {t('label_check_due', lang)}" if a.get("due_flagged") else "")


# -- the edit form (Slack modal, Teams card, web form): one item per line ------------------------------------------
FORM_FIELDS = ("decisions", "actions", "questions")


def form_values(rec: dict) -> dict[str, str]:
    """The draft as the text of the form's boxes; an action item is «text | owner | due»."""
    c = rec["content"]
    actions = []
    for a in c["actions"]:
        due = a.get("due") or a.get("due_text") or ""
        actions.append(" | ".join([a.get("text", ""), a.get("owner") or "", due]).rstrip(" |"))
    return {"decisions": "\n".join(c["decisions"]), "actions": "\n".join(actions),
            "questions": "\n".join(c.get("questions") or [])}


def from_form(rec: dict, values: dict[str, str]) -> dict:
    """The content of a saved form: blank lines dropped; a due date that is not a date is kept as text and flagged."""
    meeting = date.fromisoformat(rec["date"][:10])
    lines = {k: [ln.strip() for ln in str(values.get(k) or "").splitlines() if ln.strip()] for k in FORM_FIELDS}
    actions = []
    for line in lines["actions"]:
        text, owner, due_raw = ([p.strip() for p in line.split("|")] + ["", ""])[:3]
        item = ActionItem(text, owner.lstrip("@") or None).__dict__
        if due_raw:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", due_raw):
                try:
                    item["due"] = date.fromisoformat(due_raw).isoformat()
                except ValueError:
                    item["due_text"], item["due_flagged"] = due_raw, True
            else:
                due, phrase, flagged = parse_due(due_raw, meeting)
                item["due"], item["due_text"] = due, phrase or due_raw
                item["due_flagged"] = flagged or due is None
        actions.append(item)
    return {"decisions": lines["decisions"], "actions": actions, "questions": lines["questions"]}

"""The status form as plain data: what a surface needs to draw it (Slack modal, Teams card, web form, terminal)."""
from __future__ import annotations

from ..messages import t
from .calendar import month_label, previous_month
from .fields import Field


def build_form(fields: list[Field], pilot: str, month: str, deadline: str, lang: str, latest: dict | None,
               previous: dict | None, tasks: list[dict], late: bool) -> dict:
    """Boxes prefilled from this month's latest answer, else from last month's; each says what changed since then.

    `value` is what the box shows; `previous` last month's value; `changed` whether `value` differs from it;
    `source` where `value` came from: "this_month", "last_month" or "" (empty).
    """
    now_values = (latest or {}).get("answers") or {}
    before = (previous or {}).get("answers") or {}
    out = []
    for f in fields:
        if latest:
            value, source = now_values.get(f.key, ""), "this_month" if f.key in now_values else ""
        else:
            value, source = before.get(f.key, ""), "last_month" if f.key in before else ""
        prev = before.get(f.key, "")
        out.append({**f.as_dict(lang), "value": value, "previous": prev, "source": source,
                    "changed": bool(previous) and value.strip() != prev.strip()})
    return {
        "pilot": pilot, "month": month, "month_label": month_label(month, lang), "deadline": deadline, "late": late,
        "lang": lang, "version": (latest or {}).get("version", 0),
        "prefilled_from": month if latest else (previous_month(month) if previous else None),
        "title": t("status_form_title", lang, pilot=pilot, month=month_label(month, lang)),
        "intro": t("status_form_intro", lang, deadline=deadline) + (" " + t("status_form_late", lang) if late else ""),
        "submit": t("status_form_submit", lang),
        "tasks_label": t("status_form_tasks", lang),
        "fields": out,
        "tasks": [{"id": a["id"], "text": a["text"], "owner": a.get("owner") or "", "due": a.get("due") or
                   a.get("due_text") or "", "minutes": f"{a.get('minutes_type', '')} {str(a.get('minutes_date', ''))[:10]}".strip()}
                  for a in tasks],
    }


def render_form(form: dict) -> str:
    """The form as text, for surfaces without forms (terminal) and as the Reply's fallback text."""
    lang = form["lang"]
    lines = [form["title"], form["intro"]]
    for f in form["fields"]:
        mark = " *" if f["required"] else ""
        value = f["value"] or "–"
        if len(value) > 200:
            value = value[:200] + "…"
        note = ""
        if f["source"] == "last_month":
            note = f" ({t('status_form_from_last', lang)})"
        elif f["changed"]:
            note = f" ({t('status_form_changed', lang)})"
        lines.append(f"• {f['label']}{mark} [{f['key']}]: {value}{note}")
    if form["tasks"]:
        lines.append(form["tasks_label"])
        lines += [f"  #{a['id']} {a['text']}" + (f" – {a['owner']}" if a["owner"] else "") +
                  (f" – {a['due']}" if a["due"] else "") for a in form["tasks"]]
    return "\n".join(lines)

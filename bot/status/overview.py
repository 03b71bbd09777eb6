"""The completeness matrix: per pilot answered / late / missing, and which fields are empty or unchanged."""
from __future__ import annotations

from datetime import datetime, timezone

from knowledge.pilots import PILOTS

from ..messages import t
from .book import StatusBook
from .calendar import month_label
from .fields import Field


def overview(book: StatusBook, fields: list[Field], month: str, deadline: str) -> dict:
    """Plain data for chat, CLI and the dashboard.

    {"month", "deadline", "round": row or None, "fields": [keys], "counts": {"answered", "late", "missing"},
     "pilots": [{"pilot", "state": answered|late|missing, "version", "submitted_by", "submitted_at" (ISO, UTC),
                 "first_submitted_at", "fields": {key: filled|empty|unchanged}, "empty": [keys], "unchanged": [keys]}]}
    """
    rows, counts = [], {"answered": 0, "late": 0, "missing": 0}
    for pilot in PILOTS:
        latest, previous = book.latest(pilot, month), book.previous(pilot, month)
        row = {"pilot": pilot, "state": "missing", "version": 0, "submitted_by": "", "submitted_at": None,
               "first_submitted_at": None, "fields": {}, "empty": [], "unchanged": []}
        if latest:
            first = book.first(pilot, month)
            # why the first version: a pilot that answered on time and corrected later is not late
            row.update(state="late" if first["late"] else "answered", version=latest["version"],
                       submitted_by=latest["submitted_by"], submitted_at=_iso(latest["submitted_at"]),
                       first_submitted_at=_iso(first["submitted_at"]))
            before = (previous or {}).get("answers") or {}
            for f in fields:
                value = latest["answers"].get(f.key, "").strip()
                state = "empty" if not value else ("unchanged" if previous and before.get(f.key, "").strip() == value
                                                   else "filled")
                row["fields"][f.key] = state
                if state != "filled":
                    row[state].append(f.key)
        counts[row["state"]] += 1
        rows.append(row)
    return {"month": month, "deadline": deadline, "round": book.round(month), "fields": [f.key for f in fields],
            "counts": counts, "pilots": rows}


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds") if ts else None


def render(data: dict, fields: list[Field], lang: str) -> str:
    labels = {f.key: f.text("label", lang) for f in fields}
    c = data["counts"]
    lines = [t("status_overview_head", lang, month=month_label(data["month"], lang), deadline=data["deadline"],
               answered=c["answered"], late=c["late"], missing=c["missing"])]
    for row in data["pilots"]:
        state = t(f"status_state_{row['state']}", lang)
        line = f"• {row['pilot']}: {state}"
        if row["state"] != "missing":
            line += f" (v{row['version']}, {row['submitted_by'] or '–'}, {row['submitted_at'][:16].replace('T', ' ')} UTC)"
            if row["empty"]:
                line += f"\n    {t('status_overview_empty', lang)}: {', '.join(labels[k] for k in row['empty'])}"
            if row["unchanged"]:
                line += f"\n    {t('status_overview_unchanged', lang)}: {', '.join(labels[k] for k in row['unchanged'])}"
        lines.append(line)
    return "\n".join(lines)

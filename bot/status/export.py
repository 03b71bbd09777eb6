"""Answers as rows, one per pilot × month × field, with submitter and timestamps; written as CSV or XLSX."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from knowledge.pilots import PILOTS

from .book import StatusBook
from .calendar import months_between
from .fields import Field

COLUMNS = ["pilot", "month", "field", "label", "kind", "value", "status", "late", "version", "submitted_by",
           "platform", "submitted_at", "first_submitted_at", "deadline"]


def export_rows(book: StatusBook, fields: list[Field], first: str, last: str, tz: str = "Europe/Oslo",
                lang: str = "nb") -> list[dict]:
    """The latest version of every pilot's answer per month (a pilot without one: its rows say 'missing')."""
    zone = ZoneInfo(tz)

    def when(ts):
        return datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds") if ts else ""

    rows = []
    for month in months_between(first, last):
        rnd = book.round(month)
        for pilot in PILOTS:
            latest, head = book.latest(pilot, month), book.first(pilot, month)
            if latest is None and rnd is None:
                continue       # no round and no answer: nothing was asked, nothing is missing
            for f in fields:
                value = (latest or {}).get("answers", {}).get(f.key, "")
                rows.append({
                    "pilot": pilot, "month": month, "field": f.key, "label": f.text("label", lang), "kind": f.kind,
                    "value": float(value) if f.kind == "number" and value else value,
                    "status": "missing" if latest is None else ("late" if head["late"] else "answered"),
                    "late": bool(latest and latest["late"]), "version": (latest or {}).get("version", 0),
                    "submitted_by": (latest or {}).get("submitted_by", ""),
                    "platform": (latest or {}).get("platform", ""),
                    "submitted_at": when((latest or {}).get("submitted_at")),
                    "first_submitted_at": when((head or {}).get("submitted_at")),
                    "deadline": (latest or {}).get("deadline") or (rnd or {}).get("deadline", "")})
    return rows


def _cell(v):
    if isinstance(v, bool):
        return "ja" if v else "nei"
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r[k]) for k in COLUMNS})
    return out.getvalue()


def to_xlsx(rows: list[dict], path: str | Path) -> Path:
    """One sheet 'status', a header row, numbers as numbers (so a spreadsheet can sum budgets)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "status"
    ws.append(COLUMNS)
    for r in rows:
        ws.append([_cell(r[k]) for k in COLUMNS])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKLMN", (10, 9, 18, 30, 8, 60, 10, 6, 8, 18, 9, 22, 22, 11)):
        ws.column_dimensions[col].width = width
    path = Path(path)
    wb.save(str(path))
    return path

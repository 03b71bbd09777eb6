"""The dashboard's charts as SVG drawn on the server: no script, no chart library, nothing fetched by the browser.

Each function takes plain data and returns one `<svg>` element; colours come from classes in static/status.css.
"""
from __future__ import annotations

from html import escape

MONTHS_SHORT = ["jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des"]
STATE_TEXT = {"answered": "svart i tide", "late": "svart for sent", "missing": "mangler", "none": "ingen runde"}
FIELD_TEXT = {"filled": "utfylt", "unchanged": "uendret", "empty": "tomt", "missing": "ikke svart"}


def short_month(month: str) -> str:
    """'2025-03' → 'mar 25'."""
    return f"{MONTHS_SHORT[int(month[5:7]) - 1]} {month[2:4]}"


def kroner(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u00a0") + "\u00a0kr"


def _svg(width: int, height: int, title: str, desc: str, body: list[str], name: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{name}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-labelledby="{name}-title {name}-desc">'
            f'<title id="{name}-title">{escape(title)}</title><desc id="{name}-desc">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _rect(x: float, y: float, w: float, h: float, cls: str, tip: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" class="{cls}">'
            f"<title>{escape(tip)}</title></rect>")


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def on_time(months: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """Per pilot and month: answered on time, late, missing or no round; with «n av m i tide» at the end."""
    left, cell, gap, top, row_h = 80, 54, 4, 22, 30
    width = left + len(months) * (cell + gap) + 110
    height = top + len(rows) * row_h + 4
    body = [_text(left + i * (cell + gap) + cell / 2, 15, short_month(m), "axis", "middle")
            for i, m in enumerate(months)]
    for r, (pilot, states) in enumerate(rows):
        y = top + r * row_h
        body.append(_text(left - 8, y + 17, pilot, "label", "end"))
        for i, (month, state) in enumerate(zip(months, states)):
            body.append(_rect(left + i * (cell + gap), y, cell, row_h - 6, f"bar s-{state}",
                              f"{pilot}, {short_month(month)}: {STATE_TEXT[state]}"))
        asked = sum(s != "none" for s in states)
        body.append(_text(left + len(months) * (cell + gap) + 6, y + 17,
                          f"{sum(s == 'answered' for s in states)} av {asked} i tide", "value"))
    return _svg(width, height, "Svar i tide per pilot",
                f"Månedsstatus {short_month(months[0])}–{short_month(months[-1])}: svart i tide, for sent eller "
                "mangler, per pilot og måned.", body, "ontime")


def completeness(fields: list[tuple[str, dict[str, int]]], pilots: int) -> str:
    """Per field: how many pilots filled it in, left it unchanged from last month, left it empty, or did not answer."""
    left, bar_w, row_h, top = 250, 320, 22, 6
    width, height = left + bar_w + 60, top + len(fields) * row_h + 4
    body = []
    for r, (label, counts) in enumerate(fields):
        y = top + r * row_h
        short = label if len(label) <= 38 else label[:37] + "…"
        body.append(_text(left - 8, y + 13, short, "label", "end"))
        x = left
        for state in ("filled", "unchanged", "empty", "missing"):
            n = counts.get(state, 0)
            if n:
                w = bar_w * n / max(pilots, 1)
                body.append(_rect(x, y, w, row_h - 6, f"bar f-{state}", f"{label}: {n} {FIELD_TEXT[state]}"))
                x += w
        body.append(_text(left + bar_w + 6, y + 13, f"{counts.get('filled', 0)}/{pilots}", "value"))
    return _svg(width, height, "Utfylte felt", "Per felt: hvor mange piloter som fylte det ut, lot det stå uendret "
                "fra forrige måned, lot det stå tomt eller ikke svarte.", body, "fields")


def budget(rows: list[dict]) -> str:
    """Per pilot a budget bar and a spent bar, the forecast as a mark; rows: {pilot, budget, spent, forecast, note}."""
    left, bar_area, value_w, bar_h, group_h, top = 80, 360, 150, 12, 40, 6
    width, height = left + bar_area + value_w, top + len(rows) * group_h + 4
    top_value = max([v for r in rows for v in (r.get("budget"), r.get("spent"), r.get("forecast")) if v] or [1])
    body = []
    for g, row in enumerate(rows):
        y = top + g * group_h
        body.append(_text(left - 8, y + 16, row["pilot"], "label", "end"))
        if row.get("note"):
            body.append(_text(left - 8, y + 29, row["note"], "note", "end"))
        mark = left + bar_area * max(row.get("forecast") or 0, 0) / top_value
        for i, (key, cls, word) in enumerate((("budget", "b-budget", "budsjett"), ("spent", "b-spent", "forbrukt"))):
            value = row.get(key)
            if value is None:
                body.append(_text(left + 4, y + i * (bar_h + 3) + 10, f"{word}: ikke oppgitt", "note"))
                continue
            w = bar_area * max(value, 0) / top_value
            body.append(_rect(left, y + i * (bar_h + 3), w, bar_h, f"bar {cls}",
                              f"{row['pilot']}, {word}: {kroner(value)}"))
            # the figure goes right of its bar, and right of the forecast mark when that is further out
            body.append(_text(max(left + w, mark) + 6, y + i * (bar_h + 3) + 10, kroner(value), "value"))
        if row.get("forecast"):
            x = mark
            body.append(f'<path d="M{x:.1f} {y - 2:.1f}V{y + 2 * bar_h + 5:.1f}" class="b-forecast">'
                        f"<title>{escape(row['pilot'])}, prognose: {escape(kroner(row['forecast']))}</title></path>")
    return _svg(width, height, "Budsjett og forbruk per pilot", "Budsjett for året og forbrukt hittil per pilot, i "
                "kroner, fra siste månedsstatus; streken viser prognosen.", body, "budget")

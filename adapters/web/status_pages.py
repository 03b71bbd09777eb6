"""The status pages as HTML: the leader's form, the evaluator dashboard, one answer's history, login and refusals.

Plain functions from data to markup; every value passes `escape`. No inline script or style, so the pages work under
a Content-Security-Policy without 'unsafe-inline'.
"""
from __future__ import annotations

from datetime import datetime
from html import escape
from itertools import groupby
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from .charts import FIELD_TEXT

STATE = {"answered": "svart", "late": "svart for sent", "missing": "mangler"}
MARK = {"filled": "✓", "unchanged": "=", "empty": "–"}
# the texts of the web pages that the core does not have (bot/messages.py holds the chat's)
TEXT = {
    "link_forged": "Lenken til skjemaet er ugyldig. Bruk lenken fra den siste meldingen om månedsstatus, eller be "
                   "evaluatorene om en ny.",
    "link_expired": "Lenken til skjemaet er utløpt. Skriv «status svar» til husbot i Slack eller Teams, eller be "
                    "evaluatorene om en ny lenke.",
    "link_person": "Lenken gjelder ikke lenger: du står ikke som prosjektleder eller medlem i {pilot} i husbots "
                   "liste. Kontakt evaluatorene.",
    "csrf": "Skjemaet kunne ikke sendes fordi sikkerhetskontrollen manglet eller var gammel. Åpne lenken på nytt og "
            "send igjen; ingenting er lagret.",
    "too_large": "Skjemaet er for stort til å sendes. Korte ned de lengste feltene; ingenting er lagret.",
    "login_unknown": "Ukjent eller tilbakekalt nøkkel. Lag en ny med `husbot token create --role evaluator`.",
    "login_role": "Denne nøkkelen gir ikke tilgang til oversikten: bare evaluatorer og administratorer kan se den.",
    "login_limited": "For mange mislykkede innlogginger fra denne adressen. Vent ti minutter og prøv igjen, eller "
                     "lag en ny nøkkel med `husbot token create --role evaluator`.",
    "cross_site": "Innloggingen kom fra en annen nettside og ble avvist. Åpne husbot-oversikten selv og logg inn der.",
    "session_gone": "Du er logget ut. Logg inn med nøkkelen din.",
}


def page(title: str, body: str, cls: str = "") -> str:
    return ("<!doctype html>\n<html lang=\"nb\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)} – husbot</title><link rel=\"icon\" href=\"data:,\">"
            "<link rel=\"stylesheet\" href=\"/static/status.css\"></head>"
            f"<body class=\"{cls}\"><main>{body}</main></body></html>")


def message_page(title: str, message: str) -> str:
    return page(title, f"<h1>{escape(title)}</h1><p class=\"notice refused\" role=\"alert\">{escape(message)}</p>",
                "message")


def local_time(value: float | str | None, tz: str) -> str:
    """A Unix time or ISO string as «2025-05-06 10:15» in the round's time zone."""
    if not value:
        return "–"
    when = datetime.fromtimestamp(value, ZoneInfo(tz)) if isinstance(value, (int, float)) else \
        datetime.fromisoformat(value).astimezone(ZoneInfo(tz))
    return when.strftime("%Y-%m-%d %H:%M")


# -- the leader's form ------------------------------------------------------------------------------------------
def _box(f: dict, value: str) -> str:
    attrs = (f'name="{escape(f["key"])}" id="v-{escape(f["key"])}" '
             f'aria-describedby="h-{escape(f["key"])} e-{escape(f["key"])}"' + (" required" if f["required"] else ""))
    if f["kind"] == "yesno":
        options = ["", "ja", "nei"] + ([value] if value not in ("", "ja", "nei") else [])
        return f"<select {attrs}>" + "".join(
            f'<option value="{escape(o)}"{" selected" if o == value else ""}>{escape(o or "–")}</option>'
            for o in options) + "</select>"
    if f["kind"] == "number":
        return f'<input type="text" inputmode="decimal" {attrs} value="{escape(value)}">'
    rows = min(12, max(3, value.count("\n") + 2, len(value) // 90 + 1))
    return f'<textarea rows="{rows}" {attrs}>{escape(value)}</textarea>'


def _field(f: dict, value: str, error: str, has_previous: bool) -> str:
    changed = has_previous and value.strip() != (f["previous"] or "").strip()
    cls = "field" + (" changed" if changed else "") + (" invalid" if error else "")
    badge = ""
    if changed:
        badge = '<span class="badge changed">endret siden forrige måned</span>'
    elif f["source"] == "last_month" and value:
        badge = '<span class="badge last">fra forrige måned</span>'
    previous = ""
    if changed and f["previous"]:
        previous = (f'<details class="previous"><summary>Forrige måned</summary>'
                    f'<p class="value">{escape(f["previous"])}</p></details>')
    err = f'<p class="error" id="e-{escape(f["key"])}">{escape(error)}</p>' if error else ""
    return (f'<div class="{cls}" id="f-{escape(f["key"])}"><label for="v-{escape(f["key"])}">{escape(f["label"])}'
            + (' <span class="req" title="må fylles ut">*</span>' if f["required"] else "") + f"</label>{badge}"
            f'<p class="help" id="h-{escape(f["key"])}">{escape(f["help"])}</p>{_box(f, value)}{err}{previous}</div>')


def form_page(form: dict, token: str, csrf: str, values: dict | None = None, errors: dict | None = None,
              notice: str = "") -> str:
    """The form, prefilled (or with what was typed, when it comes back with errors next to the boxes)."""
    values, errors = values or {}, errors or {}
    has_previous = any(f["previous"] for f in form["fields"])
    parts = [f"<h1>{escape(form['title'])}</h1>", f'<p class="intro">{escape(form["intro"])}</p>']
    if form["version"]:
        parts.append(f'<p class="meta">Siste lagrede versjon: {form["version"]}. Det du sender nå blir versjon '
                     f'{form["version"] + 1}.</p>')
    elif form["prefilled_from"]:
        parts.append(f'<p class="meta">Forhåndsutfylt fra forrige måned ({escape(form["prefilled_from"])}). Felt '
                     "du endrer, merkes.</p>")
    if notice:
        parts.append(f'<p class="notice refused" role="alert">{escape(notice)}</p>')
    if errors:
        parts.append(f'<div class="notice refused" role="alert"><p>Ingenting er lagret ennå: {len(errors)} felt må '
                     "rettes.</p><ul>" + "".join(
                         f'<li><a href="#f-{escape(k)}">{escape(_label(form, k))}</a>: {escape(m)}</li>'
                         for k, m in errors.items()) + "</ul></div>")
    if form["tasks"]:
        parts.append(f'<section class="tasks"><h2>{escape(form["tasks_label"])}</h2><ul>' + "".join(
            f'<li><span class="id">#{a["id"]}</span> {escape(a["text"])}'
            + (f' <span class="who">– {escape(a["owner"])}</span>' if a["owner"] else "")
            + (f' <span class="due">– frist {escape(str(a["due"]))}</span>' if a["due"] else "")
            + (f' <span class="src">({escape(a["minutes"])})</span>' if a["minutes"] else "") + "</li>"
            for a in form["tasks"]) + "</ul></section>")
    parts.append(f'<form method="post" action="/status/form" class="status-form">'
                 f'<input type="hidden" name="t" value="{escape(token)}">'
                 f'<input type="hidden" name="csrf" value="{escape(csrf)}">')
    for section, group in groupby(form["fields"], key=lambda f: f["section"]):
        group = list(group)
        # why no legend for a lone field: its section defaults to its own label, which would show twice
        legend = f"<legend>{escape(section)}</legend>" if section and section != group[0]["label"] else ""
        parts.append(f"<fieldset>{legend}" + "".join(
            _field(f, values[f["key"]] if f["key"] in values else f["value"], errors.get(f["key"], ""), has_previous)
            for f in group) + "</fieldset>")
    parts.append(f'<p class="actions"><button type="submit">{escape(form["submit"])}</button></p></form>')
    return page(form["title"], "".join(parts), "form")


def _label(form: dict, key: str) -> str:
    return next((f["label"] for f in form["fields"] if f["key"] == key), key)


def saved_page(reply_text: str, data: dict, token: str) -> str:
    late = '<p class="badge late">Merket som sent</p>' if data["late"] else ""
    body = (f"<h1>Takk!</h1><p class=\"notice saved\" role=\"status\">{escape(reply_text)}</p>{late}"
            f'<p class="meta">Versjon {data["version"]} for {escape(data["pilot"])}, {escape(data["month"])}.</p>'
            f'<p><a href="/status/form?{escape(urlencode({"t": token}))}">Endre svaret</a> (en ny versjon lagres; '
            "de gamle tas vare på).</p>")
    return page("Månedsstatus lagret", body, "saved")


# -- the dashboard -------------------------------------------------------------------------------------------------
def login_page(message: str = "") -> str:
    note = f'<p class="notice refused" role="alert">{escape(message)}</p>' if message else ""
    body = (f"<h1>Månedsstatus – oversikt</h1>{note}<p>Logg inn med en nøkkel fra "
            "<code>husbot token create --role evaluator</code>.</p>"
            '<form method="post" action="/status/login" class="login"><label for="token">Nøkkel</label>'
            '<input type="password" id="token" name="token" autocomplete="off" required>'
            '<button type="submit">Logg inn</button></form>')
    return page("Logg inn", body, "login")


def _matrix(data: dict, labels: dict[str, str], tz: str) -> str:
    head = "".join(f'<th scope="col" class="fieldcol" title="{escape(labels[k])}"><span>{escape(labels[k])}</span></th>'
                   for k in data["fields"])
    rows = []
    for row in data["pilots"]:
        if row["state"] == "missing":
            cells = "".join('<td class="f-none" title="ikke svart"></td>' for _ in data["fields"])
            pilot, meta = escape(row["pilot"]), "–"
        else:
            cells = "".join(f'<td class="f-{s}" title="{escape(labels[k])}: {FIELD_TEXT[s]}">{MARK[s]}</td>'
                            for k, s in ((k, row["fields"][k]) for k in data["fields"]))
            link = urlencode({"pilot": row["pilot"], "month": data["month"]})
            pilot = f'<a href="/status/answer?{escape(link)}">{escape(row["pilot"])}</a>'
            meta = (f'v{row["version"]}, {escape(row["submitted_by"] or "–")}, '
                    f'{local_time(row["submitted_at"], tz)}')
        rows.append(f'<tr class="pilot-{escape(row["pilot"].lower())} state-{row["state"]}"><th scope="row">{pilot}'
                    f'</th><td class="state s-{row["state"]}">{STATE[row["state"]]}</td><td class="meta">{meta}</td>'
                    f"{cells}</tr>")
    return ('<div class="scroll"><table class="matrix"><thead><tr><th scope="col">Pilot</th><th scope="col">Status</th>'
            f'<th scope="col">Siste versjon</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="legend"><span class="key f-filled">✓</span> utfylt <span class="key f-unchanged">=</span> '
            'uendret fra forrige måned <span class="key f-empty">–</span> tomt</p>')


def dashboard_page(who: dict, data: dict, months: list[str], labels: dict[str, str], charts: dict[str, str],
                   csrf: str, tz: str, notice: str = "") -> str:
    month = data["month"]
    c = data["counts"]
    picker = "".join(f'<option value="{m}"{" selected" if m == month else ""}>{m}</option>' for m in months)
    note = f'<p class="notice refused" role="alert">{escape(notice)}</p>' if notice else ""
    body = (
        f'<header class="bar"><h1>Månedsstatus – oversikt</h1><form method="post" action="/status/logout">'
        f'<span class="who">{escape(who.get("name") or "")} ({escape(who["role"])})</span>'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}"><button type="submit" class="ghost">Logg ut'
        f"</button></form></header>{note}"
        f'<form method="get" action="/status" class="picker"><label for="month">Måned</label>'
        f'<select id="month" name="month">{picker}</select><button type="submit">Vis</button></form>'
        f'<p class="counts">Frist {escape(data["deadline"])}: <strong>{c["answered"]}</strong> svart, '
        f'<strong>{c["late"]}</strong> for sent, <strong>{c["missing"]}</strong> mangler.</p>'
        f'<section><h2>Utfylling {escape(month)}</h2>{_matrix(data, labels, tz)}</section>'
        f'<section class="charts"><h2>Svar i tide</h2>{charts["ontime"]}'
        '<p class="legend"><span class="key s-answered"></span> i tide <span class="key s-late"></span> for sent '
        '<span class="key s-missing"></span> mangler <span class="key s-none"></span> ingen runde</p>'
        f'<h2>Utfylte felt {escape(month)}</h2>{charts["fields"]}'
        '<p class="legend"><span class="key f-filled"></span> utfylt <span class="key f-unchanged"></span> uendret '
        '<span class="key f-empty"></span> tomt <span class="key f-missing"></span> ikke svart</p>'
        f'<h2>Budsjett og forbruk</h2>{charts["budget"]}'
        '<p class="legend"><span class="key b-budget"></span> budsjett <span class="key b-spent"></span> forbrukt '
        '<span class="key b-forecast"></span> prognose</p></section>'
        '<section><h2>Last ned</h2><form method="get" action="/status/export" class="export">'
        f'<label for="from">Fra</label><input type="month" id="from" name="from" value="{months[-1]}" required>'
        f'<label for="to">Til</label><input type="month" id="to" name="to" value="{month}" required>'
        '<button type="submit" name="format" value="csv">CSV</button>'
        '<button type="submit" name="format" value="xlsx">Excel (XLSX)</button></form>'
        "<p class=\"meta\">Én rad per pilot, måned og felt, med hvem som svarte og når.</p></section>")
    return page(f"Månedsstatus {month}", body, "dashboard")


def answer_page(pilot: str, month: str, versions: list[dict], labels: dict[str, str], tz: str) -> str:
    """Every version of one answer, newest first; what changed from the version before is marked."""
    parts = [f'<p><a href="/status?{escape(urlencode({"month": month}))}">← Oversikten</a></p>',
             f"<h1>Månedsstatus {escape(pilot)} – {escape(month)}</h1>",
             f'<p class="meta">{len(versions)} versjon{"er" if len(versions) != 1 else ""}.</p>']
    for n, v in reversed(list(enumerate(versions))):
        before = versions[n - 1]["answers"] if n else None
        rows = []
        for key, label in labels.items():
            value = v["answers"].get(key, "")
            changed = before is not None and value != before.get(key, "")
            rows.append(f'<tr class="{"changed" if changed else ""}"><th scope="row">{escape(label)}</th>'
                        f'<td class="value">{escape(value) or "–"}'
                        + (' <span class="badge changed">endret</span>' if changed else "") + "</td></tr>")
        late = ' <span class="badge late">sent</span>' if v["late"] else ""
        parts.append(f'<details class="version" id="v{v["version"]}"{" open" if n == len(versions) - 1 else ""}>'
                     f'<summary>Versjon {v["version"]} – {escape(v["submitted_by"] or "–")}, '
                     f'{local_time(v["submitted_at"], tz)}' + (f' ({escape(v["platform"])})' if v["platform"] else "") +
                     f'{late}</summary>'
                     f'<table class="answer"><tbody>{"".join(rows)}</tbody></table></details>')
    return page(f"Månedsstatus {pilot} {month}", "".join(parts), "answer")

"""The monthly status round as Adaptive Cards: the prompt that carries the form, the form (again with errors), the
confirmation and the evaluators' completeness matrix. Pure translation: every text comes from the Reply or the form
data the core built (bot/status/form.py), apart from a few words of the card's own in LABELS."""
from __future__ import annotations

from bot import Reply, t
from bot.status import month_label

from .translate import CARD_VERSION, MAX_FORM, _cut, _lines, execute

OPEN_VERB = "status_open"        # bot/status/chat.py `StatusChat.on_open`
SUBMIT_VERB = "status_submit"    # bot/status/chat.py `StatusChat.on_submit`
PROMPTS = ("status_prompt", "status_reminder")
FIELD = "field_"                 # why a prefix: the boxes' values arrive in the same object as the button's own data
MAX_HINT = 300                   # last month's text shown under a changed box

LABELS = {
    "prefilled": {"nb": "Forhåndsutfylt fra {month}.", "en": "Prefilled from {month}."},
    "from_last": {"nb": "Fra forrige måned", "en": "From last month"},
    "changed": {"nb": "Endret siden forrige måned (da: «{previous}»)",
                "en": "Changed since last month (then: “{previous}”)"},
    "changed_empty": {"nb": "Endret siden forrige måned (da tomt)", "en": "Changed since last month (empty then)"},
    "kept": {"nb": "Teksten ({n} tegn) er for lang for kortet og beholdes slik den er hvis feltet står tomt.",
             "en": "The text ({n} characters) is too long for the card and is kept as it is if the box stays empty."},
    "cut": {"nb": "Viser de første {shown} av {n} tegn.", "en": "Showing the first {shown} of {n} characters."},
    "yes": {"nb": "ja", "en": "yes"},
    "no": {"nb": "nei", "en": "no"},
    "edit": {"nb": "Endre svaret", "en": "Edit the answer"},
    "pilot": {"nb": "Pilot", "en": "Pilot"},
    "state": {"nb": "Status", "en": "State"},
    "submitted": {"nb": "Innsendt", "en": "Submitted"},
    "empty": {"nb": "Tomme felt", "en": "Empty fields"},
    "unchanged": {"nb": "Uendret", "en": "Unchanged"},
}


def label(key: str, lang: str, **args) -> str:
    text = LABELS[key].get(lang) or LABELS[key]["nb"]
    return text.format(**args) if args else text


def status_card(reply: Reply) -> dict | None:
    """The card for a status Reply, or None when the generic card fits (e.g. a prompt that came without its form)."""
    data = reply.data if isinstance(reply.data, dict) else {}
    form = data.get("form") if isinstance(data.get("form"), dict) else None
    if reply.kind in PROMPTS and form:
        return form_card(form, head=reply.text, keep=data.get("keep"))
    if reply.kind == "status_form" and form:
        return form_card(form, keep=data.get("keep"))
    if reply.kind == "status_invalid" and form:
        return form_card(form, head=reply.text.split("\n")[0], values=data.get("values") or {},
                         errors=data.get("errors") or {}, keep=data.get("keep"))
    if reply.kind == "status_saved":
        return saved_card(reply)
    if reply.kind == "status_overview" and isinstance(data.get("overview"), dict):
        return overview_card(reply, data["overview"], data.get("labels") or {})
    return None


def fit(values: dict[str, str], budget: int = MAX_FORM) -> set[str]:
    """The keys whose text does not fit in one card (~28 KB in Teams): the longest ones, until the rest fits."""
    total, out = sum(len(v) for v in values.values()), set()
    for key in sorted(values, key=lambda k: len(values[k]), reverse=True):
        if total <= budget:
            break
        out.add(key)
        total -= len(values[key])
    return out


def form_card(form: dict, *, head: str = "", values: dict | None = None, errors: dict | None = None,
              keep=None) -> dict:
    """The form: a box per field (prefilled, or what the person typed when it comes back with `errors` next to the
    boxes), hints about last month, the open action items and «Send inn» (Action.Execute `status_submit`).

    A prefilled text too long for the card is left out of its box and named in the button's `keep`: an empty box
    keeps it (adapters/teams/handler.py puts it back before submitting)."""
    lang = form.get("lang") or "nb"
    errors = errors or {}
    typed = values is not None
    shown = {f["key"]: str((values or {}).get(f["key"], "") if typed else f.get("value") or "") for f in form["fields"]}
    kept = {str(k) for k in keep or []} if typed else fit({k: v for k, v in shown.items() if v})
    cut = fit({k: v for k, v in shown.items() if k not in kept}) if typed else set()
    body = _lines(head) if head else []
    body += [{"type": "TextBlock", "text": form["title"], "weight": "Bolder", "size": "Medium", "wrap": True,
              **({"separator": True, "spacing": "Medium"} if head else {})},
             {"type": "TextBlock", "text": form["intro"], "wrap": True, "spacing": "Small",
              **({"color": "Attention"} if form.get("late") else {})}]
    if form.get("prefilled_from") and not typed:
        month = form["month_label"] if form["prefilled_from"] == form["month"] else _previous_label(form)
        body.append({"type": "TextBlock", "text": label("prefilled", lang, month=month), "isSubtle": True,
                     "size": "Small", "wrap": True, "spacing": "Small"})
    section = None
    for f in form["fields"]:
        if f.get("section") and f["section"] != f["label"] and f["section"] != section:
            body.append({"type": "TextBlock", "text": f["section"], "weight": "Bolder", "wrap": True,
                         "spacing": "Large"})
        section = f.get("section") if f.get("section") != f["label"] else None
        key = f["key"]
        value = shown[key]
        notes = [f["help"]] if f.get("help") else []
        if key in kept:
            n = len(value or str(f.get("value") or ""))
            value, notes = "", notes + [label("kept", lang, n=n)]
        elif key in cut:
            room = max(200, MAX_FORM // max(1, len(cut)) // 2)
            notes.append(label("cut", lang, shown=min(room, len(value)), n=len(value)))
            value = value[:room]
        if not typed and f.get("source") == "last_month":
            notes.append(label("from_last", lang))
        elif not typed and f.get("changed"):
            prev = str(f.get("previous") or "")
            notes.append(label("changed", lang, previous=_cut(prev, MAX_HINT)) if prev.strip()
                         else label("changed_empty", lang))
        body.append(field_input(f, value, lang))
        if notes:
            body.append({"type": "TextBlock", "text": " · ".join(notes), "size": "Small", "isSubtle": True,
                         "wrap": True, "spacing": "None"})
        if key in errors:
            body.append({"type": "TextBlock", "text": str(errors[key]), "color": "Attention", "wrap": True,
                         "spacing": "None", "weight": "Bolder"})
    # errors about keys that are no field of the form (a changed field list): shown at the end, not dropped
    others = [f"{k}: {m}" for k, m in errors.items() if k not in shown]
    body += [{"type": "TextBlock", "text": line, "color": "Attention", "wrap": True} for line in others]
    if form.get("tasks"):
        body.append({"type": "TextBlock", "text": form["tasks_label"], "weight": "Bolder", "wrap": True,
                     "spacing": "Large", "separator": True})
        body += [{"type": "TextBlock", "text": task_line(a), "wrap": True, "spacing": "Small"} for a in form["tasks"]]
    submit = execute(form["submit"], SUBMIT_VERB, "", pilot=form["pilot"], month=form["month"], lang=lang,
                     keep=sorted(kept))
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body, "actions": [submit], "msteams": {"width": "Full"}}


def field_input(f: dict, value: str, lang: str) -> dict:
    """One box: multiline text, a number, or ja/nei as a choice (a toggle could not say «not answered»)."""
    common = {"id": FIELD + f["key"], "label": f["label"]}
    if f.get("required"):
        common.update(isRequired=True, errorMessage=t("status_field_required", lang))
    if f["kind"] == "number" and _is_number(value):
        box = {"type": "Input.Number", **common}
        if value:
            number = float(value)
            box["value"] = int(number) if number.is_integer() else number
        return box
    if f["kind"] == "yesno":
        word = value.strip().lower()
        choice = "ja" if word in ("ja", "yes") else "nei" if word in ("nei", "no") else value
        return {"type": "Input.ChoiceSet", **common, "style": "compact", "value": choice,
                "choices": [{"title": label("yes", lang), "value": "ja"}, {"title": label("no", lang), "value": "nei"}]}
    # a number field with text that is not a number (it came back with an error) stays a text box to show it
    return {"type": "Input.Text", **common, "isMultiline": f["kind"] == "text", "value": value,
            "maxLength": int(f.get("max_chars") or 20000)}


def task_line(a: dict) -> str:
    parts = [f"#{a['id']} {a['text']}"] + [str(a[k]) for k in ("owner", "due") if a.get(k)]
    return " – ".join(parts) + (f" ({a['minutes']})" if a.get("minutes") else "")


def saved_card(reply: Reply) -> dict:
    """The confirmation that replaces the form, with a button to open the form again (edits until the deadline)."""
    data, lang = reply.data or {}, reply.lang or "nb"
    body = [{**b, "color": "Good"} for b in _lines(reply.text)]
    card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body or [{"type": "TextBlock", "text": " "}], "msteams": {"width": "Full"}}
    if data.get("pilot") and data.get("month"):
        card["actions"] = [execute(label("edit", lang), OPEN_VERB, f"{data['pilot']}:{data['month']}")]
    return card


def overview_card(reply: Reply, data: dict, labels: dict) -> dict:
    """The completeness matrix: a table of pilots (state, latest version, empty and unchanged fields)."""
    lang = reply.lang or "nb"
    head = (reply.text or "").split("\n")[0]

    def cell(text: str, **style) -> dict:
        return {"type": "TableCell", "items": [{"type": "TextBlock", "text": text or "–", "wrap": True, **style}]}

    header = {"type": "TableRow", "style": "accent",
              "cells": [cell(label(k, lang), weight="Bolder") for k in ("pilot", "state", "submitted", "empty",
                                                                        "unchanged")]}
    rows = [header]
    for row in data.get("pilots") or []:
        state = row.get("state") or "missing"
        color = {"answered": "Good", "late": "Warning", "missing": "Attention"}.get(state, "Default")
        submitted = ""
        if state != "missing":
            when = str(row.get("submitted_at") or "")[:16].replace("T", " ")
            submitted = f"v{row.get('version')} · {row.get('submitted_by') or '–'} · {when} UTC"
        names = {k: ", ".join(labels.get(key, key) for key in row.get(k) or []) for k in ("empty", "unchanged")}
        rows.append({"type": "TableRow", "cells": [
            cell(row.get("pilot") or "", weight="Bolder"), cell(t(f"status_state_{state}", lang), color=color),
            cell(submitted, size="Small"),
            cell(names["empty"] if state != "missing" else "", size="Small"),
            cell(names["unchanged"] if state != "missing" else "", size="Small")]})
    body = [{"type": "TextBlock", "text": head, "weight": "Bolder", "wrap": True},
            {"type": "Table", "firstRowAsHeader": True, "showGridLines": True, "gridStyle": "accent",
             "columns": [{"width": 2}, {"width": 2}, {"width": 3}, {"width": 3}, {"width": 3}], "rows": rows}]
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body, "msteams": {"width": "Full"}}


def form_values(data: dict) -> dict[str, str]:
    """The boxes' text from a `status_submit` invoke's data (Teams sends each input's value under its id)."""
    return {k[len(FIELD):]: v if isinstance(v, str) else ("" if v is None else str(v))
            for k, v in data.items() if k.startswith(FIELD)}


def _is_number(value: str) -> bool:
    if not value.strip():
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


def _previous_label(form: dict) -> str:
    return month_label(form["prefilled_from"], form.get("lang") or "nb")

"""The monthly status round on Slack: the form as a modal (pages when it is too long), its submission, the overview.

The prompt itself is an ordinary DM with the generic `status_open` button (translate.py); what a form holds, who may
answer and what counts as valid are decided in `bot/status/`.
"""
from __future__ import annotations

import json
import logging
import secrets
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import Action, Reply, Turn, t
from bot.status import StatusInvalid
from bot.status.fields import clean_values

from .guard import digits, view_lang

log = logging.getLogger("husbot.slack")

STATUS_VIEW = "status_form"
MAX_MODAL_BLOCKS = 100     # https://api.slack.com/reference/surfaces/views
MAX_TITLE = 24             # a modal's title
MAX_LABEL = 2000           # an input block's label and hint
MAX_INPUT = 3000           # plain_text_input
MAX_TEXT = 3000
PAGE_TTL = 6 * 3600        # how long the answers of a form's earlier pages wait for its last page

# Slack-only wording (limits and pages of a modal); the rest of the form's text comes from the core's form data
TEXTS = {
    "limit": {"nb": "I Slack er det plass til {max} tegn her (feltet tar {field_max}).",
              "en": "Slack holds {max} characters here (the field takes {field_max})."},
    "cut": {"nb": "Bare de første {shown} av {total} tegnene vises her; resten beholdes uendret når du sender inn.",
            "en": "Only the first {shown} of {total} characters show here; the rest is kept unchanged when you "
                  "submit."},
    "was": {"nb": "forrige måned: «{value}»", "en": "last month: “{value}”"},
    "page": {"nb": "Del {page} av {pages}", "en": "Part {page} of {pages}"},
    "next": {"nb": "Neste", "en": "Next"},
    "earlier": {"nb": "{label} (del {page}): {message}", "en": "{label} (part {page}): {message}"},
    "expired": {"nb": "Svarene fra de første delene av skjemaet er borte (husbot ble startet på nytt). Ingenting er "
                      "lagret; åpne skjemaet igjen.",
                "en": "The answers from the first parts of the form are gone (husbot was restarted). Nothing was "
                      "saved; please open the form again."},
    "failed": {"nb": "Jeg fikk ikke åpnet skjemaet. Trykk på knappen igjen, eller skriv «/husbot status svar "
                     "{pilot} {month}».",
               "en": "I could not open the form. Press the button again, or write “/husbot status svar {pilot} "
                     "{month}”."},
    "yes": {"nb": "Ja", "en": "Yes"},
    "no": {"nb": "Nei", "en": "No"},
    "open_tasks": {"nb": "Åpne oppgaver", "en": "Open action items"},
}
STATE_ICON = {"answered": ":white_check_mark:", "late": ":alarm_clock:", "missing": ":x:"}


def say(key: str, lang: str, **kwargs) -> str:
    texts = TEXTS[key]
    return (texts.get(lang) or texts["nb"]).format(**kwargs)


# -- the modal ------------------------------------------------------------------------------------------------------
def pages(form: dict) -> list[list[dict]]:
    """The form's fields split into pages that fit in one modal each, whole sections together where possible."""
    groups: list[list[dict]] = []
    for f in form["fields"]:
        if groups and groups[-1][0]["section"] == f["section"]:
            groups[-1].append(f)
        else:
            groups.append([f])
    # why 6 spare blocks: header, intro, page note and open action items share the modal with the inputs
    room = MAX_MODAL_BLOCKS - 6
    out: list[list[dict]] = [[]]
    used = 0
    for group in groups:
        cost = len(group) + (len(group) > 1)      # a section of several fields gets its own heading
        if used and used + cost > room:
            out.append([])
            used = 0
        while cost > room:                        # one section larger than a modal: split it
            out[-1] += group[:room - 1]
            group = group[room - 1:]
            out.append([])
            cost = len(group) + 1
        out[-1] += group
        used += cost
    return [p for p in out if p] or [[]]


def form_view(form: dict, meta: dict, page: int = 0) -> dict:
    """The status form's page `page` as a modal: one input per field, prefilled, with what changed since last month.

    `private_metadata` carries pilot, month, lang, channel, the page, and (for a value longer than Slack's boxes)
    how many characters were shown, so submitting keeps the rest.
    """
    lang = form["lang"]
    parts = pages(form)
    page = max(0, min(page, len(parts) - 1))
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": _cut(form["title"], 150)}}]
    intro = _esc(form["intro"])
    if len(parts) > 1:
        intro += f"\n{say('page', lang, page=page + 1, pages=len(parts))}"
    blocks.append(_context(intro))
    if page == 0 and form.get("tasks"):   # why first: the leader updates them while filling in Aktiviteter
        blocks.append(_section(f"*{_esc(form['tasks_label'])}*\n" + "\n".join(_task(a) for a in form["tasks"])))
    shown: dict[str, int] = {}
    section = None
    for f in parts[page]:
        if f["section"] != section:
            section = f["section"]
            if sum(g["section"] == section for g in parts[page]) > 1:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{_esc(_cut(section, 200))}*"}})
        block, n = _input(f, lang)
        if n is not None:
            shown[f["key"]] = n
        blocks.append(block)
    last = page == len(parts) - 1
    meta = {**meta, "pilot": form["pilot"], "month": form["month"], "lang": lang, "page": page,
            "pages": len(parts), **({"shown": shown} if shown else {})}
    return {
        "type": "modal", "callback_id": STATUS_VIEW, "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": _cut(f"Status {form['pilot']} {form['month']}", MAX_TITLE)},
        "submit": {"type": "plain_text", "text": _cut(form["submit"] if last else say("next", lang), MAX_TITLE)},
        "close": {"type": "plain_text", "text": _cut(t("cancel", lang), MAX_TITLE)},
        "blocks": blocks,
    }


def _input(f: dict, lang: str) -> tuple[dict, int | None]:
    """One field as an input block, and how many characters of its value it shows when not all of them fit."""
    key, value = f["key"], f["value"] or ""
    hint = [f["help"]] if f["help"] else []
    if f["source"] == "last_month":
        hint.append(t("status_form_from_last", lang))
    elif f["changed"]:
        hint.append(t("status_form_changed", lang) + (f" – {say('was', lang, value=_cut(f['previous'], 200))}"
                                                      if f["previous"] else ""))
    shown = None
    if f["kind"] == "yesno":
        options = [_option("ja", say("yes", lang)), _option("nei", say("no", lang))]
        element = {"type": "static_select", "action_id": key, "options": options}
        if value in ("ja", "nei"):
            element["initial_option"] = options[value == "nei"]
    else:
        size = min(int(f["max_chars"]), MAX_INPUT)
        element = {"type": "plain_text_input", "action_id": key, "multiline": f["kind"] == "text",
                   "max_length": size}
        if f["kind"] == "text" and int(f["max_chars"]) > MAX_INPUT:
            hint.append(say("limit", lang, max=_n(MAX_INPUT), field_max=_n(int(f["max_chars"]))))
        if len(value) > size:
            value = _fit(value, size)
            shown = len(value)
            hint.append(say("cut", lang, shown=_n(shown), total=_n(len(f["value"]))))
        if value:
            element["initial_value"] = value
    block = {"type": "input", "block_id": key, "optional": not f["required"], "element": element,
             "label": {"type": "plain_text", "text": _cut(f["label"], MAX_LABEL)}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": _cut(" · ".join(hint), MAX_LABEL)}
    return block, shown


# what form_view puts in private_metadata, and its types; anything else is not a form husbot drew
META = {"pilot": str, "month": str, "lang": str, "channel": str, "token": str, "page": int, "pages": int, "shown": dict}


def read_form(view: dict) -> tuple[dict, dict] | None:
    """A submitted status modal as (metadata, {field key: text}); None when it is not one husbot built."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except (ValueError, TypeError):
        return None
    state = (view.get("state") or {}).get("values") if isinstance(view.get("state"), dict) else None
    if not isinstance(meta, dict) or not isinstance(state, dict) or not meta.get("pilot") or not meta.get("month"):
        return None
    if any(k in meta and (not isinstance(meta[k], kind) or isinstance(meta[k], bool)) for k, kind in META.items()):
        return None
    values = {}
    for block_id, actions in state.items():
        box = actions.get(block_id) if isinstance(actions, dict) else None
        if not isinstance(box, dict):
            return None
        if box.get("type") in ("static_select", "radio_buttons"):
            values[block_id] = ((box.get("selected_option") or {}).get("value")) or ""
        else:
            values[block_id] = box.get("value") or ""
        if not isinstance(values[block_id], str):
            return None
    return meta, values


def status_form_blocks(reply: Reply) -> list[dict]:
    """A form Reply where no modal can be opened (a DM or a mention): its title, the deadline and the open button."""
    form = reply.data.get("form") or {}
    if not form:
        return []
    return [{"type": "header", "text": {"type": "plain_text", "text": _cut(form["title"], 150)}},
            _section(_esc(form["intro"]))]


def status_form_action(reply: Reply) -> Action | None:
    form = reply.data.get("form") or {}
    return Action("status_open", t("status_open_label", reply.lang), f"{form['pilot']}:{form['month']}") if form \
        else None


def overview_blocks(reply: Reply) -> list[dict]:
    """The completeness matrix: the totals, then per pilot its state, who answered when, empty and unchanged fields."""
    data, lang = reply.data.get("overview") or {}, reply.lang
    labels = reply.data.get("labels") or {}
    blocks = [_section(f"*{_esc(reply.text.split(chr(10))[0])}*")]
    for row in data.get("pilots") or []:
        line = f"{STATE_ICON.get(row['state'], '')} *{_esc(row['pilot'])}*: {t('status_state_' + row['state'], lang)}"
        if row["state"] != "missing":
            when = (row.get("submitted_at") or "")[:16].replace("T", " ")
            line += f" – v{row['version']}, {_esc(row.get('submitted_by') or '–')}, {when} UTC"
            for what in ("empty", "unchanged"):
                if row.get(what):
                    names = ", ".join(_esc(labels.get(k, k)) for k in row[what])
                    line += f"\n{t('status_overview_' + what, lang).capitalize()}: {names}"
        blocks.append(_section(line))
    return blocks[:50]


# -- checking a submitted page ----------------------------------------------------------------------------------
class StatusForms:
    """The status modal's round trip: open it, check each submitted page inside Slack's 3 s, save the last one."""

    def __init__(self, handler):
        self.handler = handler
        self.bot = handler.bot
        self.earlier: dict[str, tuple[float, dict]] = {}   # form token -> (when, answers of the pages before)

    async def open(self, client: AsyncWebClient, trigger_id: str, reply: Reply, channel: str) -> bool:
        if not trigger_id:
            return False
        meta = {"channel": channel, "token": secrets.token_hex(8)}
        try:
            await client.views_open(trigger_id=trigger_id, view=form_view(reply.data["form"], meta))
        except SlackApiError as e:
            log.info("could not open the status form: %s", e)
            return False
        return True

    def failed(self, reply: Reply) -> Reply:
        form = reply.data["form"]
        return Reply("error", say("failed", reply.lang, pilot=form["pilot"], month=form["month"]), reply.lang,
                     ephemeral=True)

    def _turn(self, body: dict, meta: dict) -> Turn:
        user = (body.get("user") or {}).get("id") or ""
        channel = meta.get("channel") if isinstance(meta.get("channel"), str) and meta.get("channel") else user
        lang = meta.get("lang") if meta.get("lang") in ("nb", "en") else "nb"
        return Turn("", user_id=user, channel_id=channel, platform="slack", is_dm=channel.startswith("D"), lang=lang)

    async def check(self, body: dict, view: dict, client: AsyncWebClient) -> tuple[tuple | None, dict | None]:
        """((turn, meta, all answers) to save, None), or (None, the acknowledgement: errors, next page or a notice)."""
        read = read_form(view)
        if read is None:
            lang = view_lang(view)
            return None, {"response_action": "update", "view": notice(t("status_bad_form", lang), lang)}
        meta, values = read
        turn = self._turn(body, meta)
        lang = turn.lang
        await self.handler._who(turn, client)
        page, n_pages = int(meta.get("page") or 0), int(meta.get("pages") or 1)
        token = str(meta.get("token") or "")
        answers = dict(self.earlier.get(token, (0, {}))[1]) if page else {}
        if page and not answers:
            return None, {"response_action": "update", "view": notice(say("expired", lang), lang)}
        opened = await self.bot.act(turn, "status_open", f"{meta['pilot']}:{meta['month']}")
        if opened.kind != "status_form":
            return None, {"response_action": "update", "view": notice(_esc(opened.text), lang)}
        form = opened.data["form"]
        current = {f["key"]: f["value"] or "" for f in form["fields"]}
        for key, n in (meta.get("shown") or {}).items():
            if key in values and digits(n):    # why: a box cut to Slack's size keeps its unseen rest
                values[key] += current.get(key, "")[int(n):]
        answers.update(values)
        on_page = set(values)
        last = page >= n_pages - 1
        _, problems = clean_values(self.bot.status.round.fields, answers if last else values)
        errors = StatusInvalid(problems).messages(lang) if problems else {}
        if not last:
            errors = {k: m for k, m in errors.items() if k in on_page}
        if errors:
            return None, {"response_action": "errors", "errors": self._on_blocks(errors, form, on_page, lang)}
        if not last:
            now = time.time()
            self.earlier = {k: v for k, v in self.earlier.items() if now - v[0] < PAGE_TTL}
            self.earlier[token] = (now, answers)
            meta = {k: meta[k] for k in ("channel", "token") if k in meta}
            return None, {"response_action": "update", "view": form_view(form, meta, page + 1)}
        return (turn, meta, answers), None

    def _on_blocks(self, errors: dict, form: dict, on_page: set, lang: str) -> dict:
        """Errors by block id; one about a field on an earlier page goes on this page's first box."""
        out = {k: m for k, m in errors.items() if k in on_page}
        others = [(k, m) for k, m in errors.items() if k not in on_page]
        if others and on_page:
            where = {f["key"]: (i + 1, f["label"]) for i, part in enumerate(pages(form)) for f in part}
            first = next(f["key"] for f in form["fields"] if f["key"] in on_page)
            notes = [say("earlier", lang, label=where.get(k, (1, k))[1], page=where.get(k, (1, k))[0], message=m)
                     for k, m in others]
            out[first] = _cut(" ".join(([out[first]] if first in out else []) + notes), 2000)
        return out

    async def ack(self, ack, body: dict, view: dict, client: AsyncWebClient):
        """Inside Slack's 3 s: errors next to their boxes, or the next page, or a plain acknowledgement."""
        try:
            _, answer = await self.check(body, view, client)
        except Exception:
            log.exception("checking the status form failed")
            answer = {"response_action": "update", "view": notice(t("error", view_lang(view)), view_lang(view))}
        await ack(**(answer or {}))

    async def submitted(self, body: dict, view: dict, client: AsyncWebClient):
        """The last page passed the check: save the answer and tell the person in a DM (late flag included)."""
        checked, _ = await self.check(body, view, client)
        if checked is None:
            return   # the acknowledgement showed the errors or the next page
        turn, meta, answers = checked
        try:
            reply = await self.bot.act(turn, "status_submit", {"pilot": meta["pilot"], "month": meta["month"],
                                                               "values": answers})
        except Exception:
            log.exception("saving the status form failed")
            reply = Reply("error", t("error", turn.lang), turn.lang, ephemeral=True)
        # why no pop of the earlier pages' answers: the acknowledgement may still be reading them; they expire
        reply.ephemeral = False   # why: a DM to the person who submitted; the modal is already closed
        await self.handler.post(client, reply, channel=turn.user_id, user=turn.user_id)


def notice(text: str, lang: str) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "husbot"},
            "close": {"type": "plain_text", "text": t("cancel", lang)},
            "blocks": [_section(text)]}


def _task(a: dict) -> str:
    bits = [f"#{a['id']} {_esc(a['text'])}"] + [_esc(a[k]) for k in ("owner", "due", "minutes") if a.get(k)]
    return "• " + " – ".join(bits)


def _n(number: int) -> str:
    return f"{number:,}".replace(",", "\u00a0")     # 20 000, as Norwegian writes it (a no-break space)


def _option(value: str, text: str) -> dict:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def _fit(text: str, size: int) -> str:
    """The longest start of `text` that fits, ending at a line or word boundary when there is one."""
    cut = max(text.rfind("\n", 0, size + 1), text.rfind(" ", 0, size + 1))
    return text[:cut if cut > size // 2 else size]


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_TEXT)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, MAX_TEXT)}]}


def _esc(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


__all__ = ["STATUS_VIEW", "StatusForms", "form_view", "overview_blocks", "pages", "read_form", "status_form_action",
           "status_form_blocks"]

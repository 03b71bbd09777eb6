"""Slack payloads to `Turn`s, and `Reply`s to Block Kit: all the adapter knows about Slack's shapes."""
from __future__ import annotations

import html
import json
import re

from bot import Reply, Turn, t

from .guard import digits, view_metadata
from .status import overview_blocks, status_form_action, status_form_blocks

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks)
MAX_BLOCKS = 50
MAX_TEXT = 3000            # section and context text
MAX_BUTTONS = 25           # elements in one actions block
MAX_BUTTON_TEXT = 75
MAX_FALLBACK = 3000        # the notification text beside the blocks
MAX_HEADER = 150           # header block text
MAX_INPUT = 3000           # plain_text_input in a modal (https://api.slack.com/reference/block-kit/block-elements)
MAX_METADATA = 3000        # a view's private_metadata

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
ACTION_ID = re.compile(r"^(feedback_up|feedback_down|show_source|minutes_accept|minutes_edit|task_done|status_open)"
                       r":\d+$")
# message subtypes that are still a person (or a bot) saying something; edits, joins and deletions are not turns
SPEAKING_SUBTYPES = {None, "bot_message", "thread_broadcast", "file_share", "me_message"}


def to_turn(event: dict, *, event_id: str = "", bot_user_id: str = "") -> Turn | None:
    """An `app_mention` or `message` event as a Turn; None when the event is not someone saying something.

    A channel `message` (no mention, not a DM) becomes an unaddressed Turn: an open minutes capture may collect it,
    nothing answers it.
    """
    subtype = event.get("subtype")
    if subtype not in SPEAKING_SUBTYPES:
        return None
    channel = event.get("channel") or ""
    is_dm = event.get("channel_type") == "im" or channel.startswith("D")
    user = event.get("user") or ""
    is_bot = bool(event.get("bot_id")) or subtype == "bot_message" or bool(bot_user_id and user == bot_user_id)
    # in a channel the answer goes into the thread the mention started; a DM is one running conversation
    thread = event.get("thread_ts") or ("" if is_dm else event.get("ts") or "")
    addressed = is_dm or event.get("type") != "message"
    return Turn(plain_text(event.get("text") or "", bot_user_id), user_id=user or event.get("bot_id") or "",
                channel_id=channel, thread_id=thread, platform="slack", event_id=event_id, is_bot=is_bot, is_dm=is_dm,
                addressed=addressed)


def mentions(event: dict, bot_user_id: str) -> bool:
    """Whether a message names the bot; Slack then sends it twice (`message` and `app_mention`)."""
    return bool(bot_user_id) and f"<@{bot_user_id}" in (event.get("text") or "")


def command_to_turn(body: dict) -> Turn:
    """A `/husbot ...` slash command as a Turn (the command's text is the question)."""
    channel = body.get("channel_id") or ""
    return Turn(plain_text(body.get("text") or ""), user_id=body.get("user_id") or "",
                user_name=body.get("user_name") or "", channel_id=channel, platform="slack",
                is_dm=channel.startswith("D") or body.get("channel_name") == "directmessage")


def action_to_turn(body: dict) -> tuple[Turn, str, str]:
    """A button press (`block_actions`) as (Turn, action kind, value)."""
    action = (body.get("actions") or [{}])[0]
    user = body.get("user") or {}
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    turn = Turn("", user_id=user.get("id") or "", user_name=user.get("username") or user.get("name") or "",
                channel_id=channel, thread_id=message.get("thread_ts") or container.get("thread_ts") or "",
                platform="slack", is_dm=channel.startswith("D"))
    kind = (action.get("action_id") or "").split(":")[0]
    return turn, kind, action.get("value") or ""


def plain_text(text: str, bot_user_id: str = "") -> str:
    """Slack's message markup back to what the person typed, minus the mention that addressed the bot."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = MENTION.sub(" ", text, count=1) if MENTION.match(text.lstrip()) else text
    text = LINK.sub(lambda m: m.group(2) or m.group(1), text)
    # why keep line breaks: pasted minutes («referat importer …») and captured messages are read line by line
    lines = (" ".join(line.split()) for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)


# -- out -------------------------------------------------------------------------------------------------------
def to_blocks(reply: Reply) -> list[dict]:
    """A Reply as Block Kit: the answer, one section per pilot when comparing, numbered sources, then buttons."""
    blocks: list[dict] = []
    if reply.kind == "comparison":
        blocks += _sections(reply.lead or reply.text.split("\n")[0])
        for p in reply.pilots:
            body = _cited(p.sentences) if p.found else t("compare_none", reply.lang, pilot=p.pilot)
            blocks += _sections(f"*{escape(p.pilot)}*\n{body}", escaped=True)
    elif reply.kind == "minutes_draft":
        blocks += _draft(reply)
    elif reply.kind == "status_overview" and reply.data.get("overview"):
        blocks += overview_blocks(reply)
    elif reply.kind == "status_form" and reply.data.get("form"):
        blocks += status_form_blocks(reply)   # where no modal can open: the title, the deadline, a button to open it
    elif reply.kind == "answer" and reply.sentences:
        blocks += _sections(f"{escape(reply.lead)}\n{_cited(reply.sentences)}" if reply.lead
                            else _cited(reply.sentences), escaped=True)
    else:
        blocks += _sections(reply.text)
    if reply.kind in ("answer", "comparison"):
        blocks += [_context(_citation_line(c, reply.lang)) for c in reply.citations]
    elif reply.kind == "source" and reply.citations:
        blocks.append(_context(_citation_line(reply.citations[0], reply.lang)))
    actions = list(reply.actions)
    if reply.kind == "status_form" and not actions and status_form_action(reply):
        actions.append(status_form_action(reply))
    buttons = [_button(a, i) for i, a in enumerate(actions)][:MAX_BUTTONS]
    if len(blocks) > MAX_BLOCKS - bool(buttons):
        blocks = blocks[:MAX_BLOCKS - bool(buttons)]
    if buttons:
        blocks.append({"type": "actions", "block_id": "husbot_actions", "elements": buttons})
    return blocks


def _draft(reply: Reply) -> list[dict]:
    """A minutes draft: its title as a header, the sections with bold labels, the «nothing is final» note small."""
    body, _, foot = reply.text.partition("\n\n")
    head, _, rest = body.partition("\n")
    labels = {f"{label}:" for label in ((reply.data.get("form") or {}).get("labels") or {}).values()}
    lines = [f"*{escape(ln)}*" if ln.strip() in labels else escape(ln) for ln in rest.split("\n")]
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": _cut(head, MAX_HEADER), "emoji": True}}]
    blocks += _sections("\n".join(lines), escaped=True)
    if foot.strip():
        blocks.append(_context(escape(foot.strip())))
    return blocks


# -- the minutes edit form (a modal) ----------------------------------------------------------------------------
FORM_FIELDS = ("decisions", "actions", "questions")


def minutes_form_view(reply: Reply, meta: dict, callback_id: str) -> dict:
    """The «Rediger» modal from a draft's `data["form"]`: one prefilled box per section, one item per line.

    A box longer than Slack allows shows its first lines only and says so; `private_metadata["shown"]` records how
    many, so saving can put the lines that were not shown back unchanged.
    """
    form = reply.data.get("form") or {}
    values, labels, lang = form.get("values") or {}, form.get("labels") or {}, reply.lang
    blocks: list[dict] = [_context(escape(form["hint"]))] if form.get("hint") else []
    shown: dict[str, int] = {}
    for key in FORM_FIELDS:
        text, n, total = fit_lines(values.get(key) or "", MAX_INPUT)
        element = {"type": "plain_text_input", "action_id": key, "multiline": True, "max_length": MAX_INPUT}
        if text:
            element["initial_value"] = text
        block = {"type": "input", "block_id": key, "optional": True, "element": element,
                 "label": {"type": "plain_text", "text": _cut(labels.get(key) or key, 2000)}}
        if n < total:
            shown[key] = n
            block["hint"] = {"type": "plain_text", "text": t("minutes_form_cut", lang, shown=n, total=total)}
        blocks.append(block)
    meta = {**meta, "id": form.get("id"), "lang": lang, **({"shown": shown} if shown else {})}
    return {
        "type": "modal", "callback_id": callback_id, "private_metadata": _cut(json.dumps(meta), MAX_METADATA),
        "title": {"type": "plain_text", "text": _cut(form.get("title") or t("label_edit", lang), 24)},
        "submit": {"type": "plain_text", "text": _cut(form.get("submit") or t("label_save", lang), 24)},
        "close": {"type": "plain_text", "text": _cut(t("cancel", lang), 24)},
        "blocks": blocks,
    }


def minutes_form_values(view: dict) -> tuple[dict, dict] | None:
    """A submitted «Rediger» modal as (metadata, {"id", "decisions", "actions", "questions"}); None if malformed."""
    meta = view_metadata(view)
    if meta is None or not digits(meta.get("id")):
        return None
    if meta.get("lang") not in ("nb", "en"):
        meta["lang"] = "nb"
    state = (view.get("state") or {}).get("values") if isinstance(view.get("state"), dict) else None
    if not isinstance(state, dict):
        return None
    values = {"id": str(meta["id"])}
    for key in FORM_FIELDS:
        box = (state.get(key) or {}).get(key) if isinstance(state.get(key), dict) else None
        if not isinstance(box, dict) or not isinstance(box.get("value") or "", str):
            return None
        values[key] = box.get("value") or ""
    return meta, values


def fit_lines(text: str, size: int) -> tuple[str, int, int]:
    """The whole lines of `text` that fit in `size` characters: (text, lines kept, lines in all)."""
    lines = text.split("\n") if text else []
    kept, used = 0, 0
    for line in lines:
        if used + len(line) + (1 if kept else 0) > size:
            break
        used += len(line) + (1 if kept else 0)
        kept += 1
    return "\n".join(lines[:kept]), kept, len(lines)


def fallback_text(reply: Reply) -> str:
    """The plain text Slack shows in notifications and where blocks cannot be shown."""
    return _cut(reply.text or reply.lead, MAX_FALLBACK)


def escape(text: str) -> str:
    """Slack's three control characters, so a passage containing '<' or '&' shows as written."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cited(sentences) -> str:
    return " ".join(f"{escape(s)} [{n}]" for s, n in sentences)


def _sections(text: str, escaped: bool = False) -> list[dict]:
    text = text if escaped else escape(text)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in _chunks(text, MAX_TEXT) if part]


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, MAX_TEXT)}]}


def _citation_line(c, lang: str) -> str:
    where = [escape(c.section)] if c.section and c.section != c.title else []
    if c.page:
        where.append(f"{t('label_page', lang)} {c.page}")
    title = escape(c.title or c.document)
    return f"[{c.number}] *{title}*" + (f" – {', '.join(where)}" if where else "")


def _button(action, i: int) -> dict:
    return {"type": "button", "action_id": f"{action.kind}:{i}", "value": action.value[:2000],
            "text": {"type": "plain_text", "text": _cut(action.label, MAX_BUTTON_TEXT), "emoji": True}}


def _chunks(text: str, size: int) -> list[str]:
    """Split at paragraph or word boundaries so no piece exceeds `size` characters."""
    out = []
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else size
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    out.append(text)
    return out


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"

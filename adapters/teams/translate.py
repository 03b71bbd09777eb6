"""Teams activities to `Turn`s and `Reply`s to Adaptive Cards: all the adapter knows about Teams' shapes."""
from __future__ import annotations

import html
import re

from botbuilder.core import CardFactory
from botbuilder.schema import Activity, ActivityTypes

from bot import Reply, Turn, t

CARD_VERSION = "1.5"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
VOTES = ("feedback_up", "feedback_down")
REASON_VERB = "feedback_reason"
SAVE_VERB = "minutes_save"    # the minutes draft's edit form (bot/minutes.py `MinutesChat.on_save`)
# why a side thread: the 👎 reason comes from the card's own form (`Bot.add_feedback_reason`); a button turn in the
# chat's thread would leave the core waiting for a reason and swallow the next question as one (as in the web chat)
CARD_THREAD = "cards"
MAX_TEXT = 8000            # keep a card well under Teams' ~28 KB message limit
MAX_ACTIONS = 6            # Teams shows at most 6 buttons in one set
MAX_FORM = 12000           # a draft whose boxes would hold more is edited with «referat endre …» instead

AT = re.compile(r"<at[^>]*>(.*?)</at>", re.I | re.S)
LEADING_AT = re.compile(r"^\s*<at[^>]*>.*?</at>", re.I | re.S)
TAG = re.compile(r"<[^>]+>")
MESSAGE_ID = re.compile(r";messageid=(\d+)")

# The card's own few words (the bot's texts live in bot/messages.py)
LABELS = {
    "reason_placeholder": {"nb": "Hva var galt med svaret?", "en": "What was wrong with the answer?"},
    "send": {"nb": "Send", "en": "Send"},
}


def label(key: str, lang: str) -> str:
    return LABELS[key].get(lang) or LABELS[key]["nb"]


# -- in ------------------------------------------------------------------------------------------------------------
def conversation_kind(activity: Activity) -> str:
    """personal, groupChat or channel."""
    conv = activity.conversation
    kind = (conv.conversation_type if conv else None) or ""
    if kind:
        return kind
    if _channel_data(activity).get("channel"):
        return "channel"
    return "groupChat" if conv and conv.is_group else "personal"


def channel_of(activity: Activity) -> str:
    """The id the roster knows: a Teams channel's id, else the chat's conversation id."""
    channel = _channel_data(activity).get("channel")
    conv_id = (activity.conversation.id if activity.conversation else "") or ""
    # why the type check: a channel that is not an object was a 500 (#8)
    return (channel.get("id") if isinstance(channel, dict) else None) or conv_id.split(";")[0]


def thread_of(activity: Activity) -> str:
    """A channel post's reply chain (the root message id); chats are one running conversation."""
    if conversation_kind(activity) != "channel":
        return ""
    m = MESSAGE_ID.search((activity.conversation.id if activity.conversation else "") or "")
    return m.group(1) if m else (activity.reply_to_id or activity.id or "")


def user_of(activity: Activity) -> tuple[str, str]:
    """(AAD object id, or the Teams user id when there is none; display name)."""
    who = activity.from_property
    if who is None:
        return "", ""
    return who.aad_object_id or who.id or "", who.name or ""


def is_addressed(activity: Activity) -> bool:
    """Whether the message is meant for husbot: everything in chats, in a channel only what @mentions it.

    With the RSC permission ChannelMessage.Read.Group Teams delivers every channel message; those that do not
    mention husbot become `addressed=False` turns, which only an open minutes capture may collect."""
    if activity.type != ActivityTypes.message or conversation_kind(activity) != "channel":
        return True
    bot_id = activity.recipient.id if activity.recipient else None
    mentions = [e.additional_properties or {} for e in activity.entities or [] if (e.type or "").lower() == "mention"]
    if not mentions:    # as in plain_text: a leading <at>…</at> without entities is taken to be us
        return bool(LEADING_AT.match(activity.text or ""))
    return any(isinstance(m.get("mentioned"), dict) and m["mentioned"].get("id") == bot_id for m in mentions)


def to_turn(activity: Activity, *, text: str | None = None, thread: str | None = None) -> Turn:
    """A message (or a card button's invoke) as a Turn; the bot's @mention is taken out of the question."""
    user_id, name = user_of(activity)
    who, me = activity.from_property, activity.recipient
    is_bot = bool(who and ((who.role or "") == "bot" or (me and who.id and who.id == me.id)))
    conv_id = (activity.conversation.id if activity.conversation else "") or ""
    return Turn(plain_text(activity) if text is None else text, user_id=user_id, user_name=name,
                channel_id=channel_of(activity), thread_id=thread_of(activity) if thread is None else thread,
                platform="teams", event_id=f"{conv_id}|{activity.id}" if activity.id else "", is_bot=is_bot,
                is_dm=conversation_kind(activity) == "personal", addressed=is_addressed(activity))


def plain_text(activity: Activity) -> str:
    """What the person typed, minus the <at>husbot</at> that addressed the bot (other mentions keep their name)."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    mentions = [e.additional_properties or {} for e in activity.entities or [] if (e.type or "").lower() == "mention"]
    # why the type checks: a mention entity with a number as text or a string as `mentioned` was a 500 (#8)
    ours = [m["text"] for m in mentions if isinstance(m.get("mentioned"), dict)
            and m["mentioned"].get("id") == bot_id and isinstance(m.get("text"), str) and m["text"]]
    # why not TurnContext.remove_recipient_mention: 4.17.1 uses the display name as a regular expression
    for mention in ours:
        text = text.replace(mention, " ")
    if not mentions:
        text = LEADING_AT.sub(" ", text)
    text = AT.sub(lambda m: m.group(1), text)
    return " ".join(html.unescape(TAG.sub(" ", text)).split())


def card_action(activity: Activity) -> tuple[str, dict]:
    """An `adaptiveCard/action` invoke's (verb, data)."""
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") if isinstance(value.get("action"), dict) else {}
    data = action.get("data") if isinstance(action.get("data"), dict) else {}
    return str(action.get("verb") or ""), data


def _channel_data(activity: Activity) -> dict:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


# -- out -----------------------------------------------------------------------------------------------------------
def to_activity(reply: Reply) -> Activity:
    """A Reply as a Teams message carrying one Adaptive Card."""
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(to_card(reply))],
                    summary=_cut(reply.text or reply.lead, 200))


def to_card(reply: Reply, *, note: Reply | None = None, source: Reply | None = None, reason_form: dict | None = None,
            buttons: bool = True) -> dict:
    """A Reply as an Adaptive Card: the text, numbered sources, then "Vis kilde" and 👍/👎 (Action.Execute).

    `source` adds a shown source under the answer, `note` a feedback line in place of 👍/👎, `reason_form` the
    "what was wrong?" box after a 👎 (its Action.Execute data); these redraw an answer after a button press."""
    if reply.kind.startswith("status_") and note is None and source is None and buttons:
        from .status_cards import status_card   # why here: status_cards builds on this module's helpers
        card = status_card(reply)
        if card is not None:
            return card
    lang = reply.lang or "nb"
    body = _lines(reply.text, bold_first=reply.kind in ("source", "minutes_draft"))
    if reply.kind in ("answer", "comparison") and reply.citations:
        body.append({"type": "TextBlock", "text": t("label_sources", lang), "weight": "Bolder", "size": "Small",
                     "spacing": "Medium", "wrap": True})
        body += [{"type": "TextBlock", "text": citation_line(c, lang), "size": "Small", "isSubtle": True,
                  "spacing": "None", "wrap": True} for c in reply.citations]
    sources = [a for a in reply.actions if a.kind == "show_source"][:MAX_ACTIONS] if buttons else []
    if sources:
        body.append({"type": "ActionSet", "actions": [execute(a.label, a.kind, a.value) for a in sources]})
    if source is not None:
        body.append({"type": "Container", "style": "emphasis", "spacing": "Medium", "separator": True,
                     "items": _lines(source.text, bold_first=source.kind == "source")})
    if note is not None:
        body += [{**b, "color": "Good" if note.kind == "feedback" else "Attention"} for b in _lines(note.text)]
    if reason_form is not None:
        body.append({"type": "Input.Text", "id": "reason", "isMultiline": True, "maxLength": 2000,
                     "placeholder": label("reason_placeholder", lang)})
        body.append({"type": "ActionSet", "actions": [execute(label("send", lang), REASON_VERB, **reason_form)]})
    # 👍/👎 and any button a feature adds (e.g. accepting minutes): each comes back as an invoke with its kind
    others = [a for a in reply.actions if a.kind != "show_source" and (note is None or a.kind not in VOTES)]
    card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body or [{"type": "TextBlock", "text": " "}], "msteams": {"width": "Full"}}
    if buttons and others:
        form = reply.data.get("form") if isinstance(reply.data, dict) else None
        card["actions"] = [_button(a, form) for a in others][:MAX_ACTIONS]
    return card


def _button(action, form: dict | None) -> dict:
    # why a form and not a round trip: «Rediger» opens the boxes in the card itself, no message is needed
    shown = edit_form(action.label, form) if action.kind == "minutes_edit" else None
    return shown or execute(action.label, action.kind, action.value)


def edit_form(title: str, form: dict | None) -> dict | None:
    """A minutes draft's «Rediger» as a card that opens under the draft: one multiline box per section, prefilled,
    and «Lagre» (Action.Execute `minutes_save`, whose data Teams sends back with the boxes' text)."""
    if not isinstance(form, dict) or not form.get("id"):
        return None
    values, labels = form.get("values") or {}, form.get("labels") or {}
    if sum(len(str(v)) for v in values.values()) > MAX_FORM:   # why: Teams refuses cards above ~28 KB
        return None
    body = [{"type": "TextBlock", "text": form.get("title") or title, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": form.get("hint") or "", "size": "Small", "isSubtle": True, "wrap": True}]
    body += [{"type": "Input.Text", "id": key, "label": label, "isMultiline": True, "value": str(values.get(key) or "")}
             for key, label in labels.items()]
    minutes_id = str(form["id"])
    save = execute(form.get("submit") or title, SAVE_VERB, minutes_id, id=minutes_id)
    return {"type": "Action.ShowCard", "title": title, "card": {"type": "AdaptiveCard", "body": body,
                                                                "actions": [save]}}


def execute(title: str, verb: str, value: str = "", **data) -> dict:
    """A universal action: Teams sends it back as an `adaptiveCard/action` invoke with this verb and data."""
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": {"value": value, **data}}


def invoke_body(card: dict) -> dict:
    """The HTTP body that answers an `adaptiveCard/action` invoke with a card that replaces the pressed one."""
    return {"statusCode": 200, "type": CARD_TYPE, "value": card}


def citation_line(c, lang: str) -> str:
    """'[1] **Title** (file.txt) – section, p. 3'."""
    where = [c.section] if c.section and c.section != c.title else []
    if c.page:
        where.append(f"{t('label_page', lang)} {c.page}")
    title = f"**{c.title}** ({c.document})" if c.title and c.title != c.document else f"**{c.document}**"
    return f"[{c.number}] {title}" + (f" – {', '.join(where)}" if where else "")


def _lines(text: str, bold_first: bool = False) -> list[dict]:
    # why one TextBlock per line: Teams' card markdown joins single newlines into one paragraph
    lines = [line for line in _cut(text or "", MAX_TEXT).split("\n") if line.strip()]
    return [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small" if i else "Default",
             **({"weight": "Bolder"} if bold_first and i == 0 else {})} for i, line in enumerate(lines)]


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"

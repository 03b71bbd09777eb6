"""One step before every listener: a Slack payload whose fields husbot reads have the wrong shape is refused with 400.

Slack signs what it sends and sends the documented shapes, so only a holder of the signing secret (or a changed
platform) can send these; without this step bolt's own matchers and husbot's listeners met a string where an object
belongs and failed with a 500 or a traceback in the log (found by fuzzing, #8). The helpers at the end read what
husbot itself put in a modal (`private_metadata`), which comes back as text anyone signing could have changed.
"""
from __future__ import annotations

import json
import logging

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from yarl import URL

log = logging.getLogger("husbot.slack")

TEXT = (str,)
ID = ("id",)               # text of at most MAX_ID characters: Slack's ids, timestamps and trigger ids are short
OBJECT = (dict,)
LIST = (list,)
MAX_ID = 255
# the fields husbot (and bolt's matchers) read, by payload kind: (path, allowed types, required)
EVENT = [(("event", "type"), TEXT, True), (("event_id",), ID, False)]
SPEECH = [(("event", key), ID, False) for key in ("user", "channel", "channel_type", "ts", "thread_ts", "subtype",
                                                   "bot_id")] + [(("event", "text"), TEXT, False),
                                                                 (("event", "files"), LIST, False)]
COMMAND = [(("command",), TEXT, True), (("response_url",), TEXT, True), (("text",), TEXT, False),
           (("user_name",), TEXT, False), (("channel_name",), TEXT, False)] + \
          [((key,), ID, False) for key in ("user_id", "channel_id", "trigger_id")]
INTERACTIVE = [(("user",), OBJECT, True), (("user", "id"), ID, True), (("user", "username"), TEXT, False),
               (("user", "name"), TEXT, False), (("trigger_id",), ID, False), (("response_url",), TEXT, False)]
ACTIONS = [(("actions",), LIST, True), (("channel", "id"), ID, False), (("container", "channel_id"), ID, False),
           (("container", "thread_ts"), ID, False), (("message", "ts"), ID, False),
           (("message", "thread_ts"), ID, False)]
# why not the view's metadata and boxes: the form's own reading names a garbled form in the modal (friendlier than 400)
VIEW = [(("view", "callback_id"), TEXT, True), (("view", "type"), TEXT, True)]
# objects bolt's own steps read with .get() whatever the payload's type (authorization, ignoring our own events)
ANYWHERE = [(("event",), OBJECT, False), (("view",), OBJECT, False), (("user",), OBJECT, False),
            (("channel",), OBJECT, False), (("container",), OBJECT, False), (("message",), OBJECT, False),
            (("team",), OBJECT, False)]
_MISSING = object()


def shape_problem(body: dict) -> str | None:
    """What is wrong with the shape of the payload, in a few words; None when husbot can read it."""
    if "event" in body and not isinstance(body["event"], dict):
        return "event is not an object"     # why apart: bolt reads body.get("event", {}).get(…), so null fails too
    problem = _fields(body, ANYWHERE)
    if problem:
        return problem
    kind = body.get("type")
    if kind == "event_callback":
        problem = "event is missing" if "event" not in body else _fields(body, EVENT)
        if problem is None and body["event"]["type"] in ("app_mention", "message"):
            problem = _fields(body, SPEECH) or _each(body["event"].get("files") or [], "event.files",
                                                     [(("url_private",), TEXT, False),
                                                      (("url_private_download",), TEXT, False),
                                                      (("name",), TEXT, False), (("title",), TEXT, False)])
        return problem
    if kind is None and "command" in body:
        return _fields(body, COMMAND) or _url(body)
    if kind == "block_actions":
        problem = _fields(body, INTERACTIVE + ACTIONS) or _url(body)
        if problem is None and not body["actions"]:
            problem = "actions is empty"     # why: bolt's matchers read actions[0]
        return problem or _each(body["actions"], "actions", [(("action_id",), TEXT, True), (("value",), TEXT, False)])
    if kind in ("view_submission", "view_closed"):
        return "view is missing" if "view" not in body else _fields(body, INTERACTIVE + VIEW)
    return None


def _url(body: dict) -> str | None:
    """A `response_url` is where the answer goes: it must be a web address (a "null" failed in `respond`)."""
    url = body.get("response_url")
    if url is None:
        return None
    try:
        parsed = URL(url)     # why yarl: it is what aiohttp, which posts to it, reads the address with
        usable = parsed.scheme in ("https", "http") and bool(parsed.host) and url.isprintable() and " " not in url
    except (ValueError, TypeError):
        usable = False
    return None if usable else "response_url is not a web address"


class RefuseMalformedPayloads(AsyncMiddleware):
    """Bolt global middleware: a payload of the wrong shape gets 400 with what is wrong; the rest goes on.

    Why a class and not a function: bolt builds a function middleware's arguments (`view`, `action`, …) with the
    same helpers that fail on these payloads; a class gets the raw request.
    """

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next):
        body = req.body
        problem = shape_problem(body) if isinstance(body, dict) else "the body is not an object"
        if problem is None:
            return await next()
        log.info("refused a malformed Slack payload: %s", problem)
        return BoltResponse(status=400, body={"error": f"malformed Slack payload: {problem}"})


# -- reading what husbot put in a modal ----------------------------------------------------------------------
def view_metadata(view: dict) -> dict | None:
    """The `private_metadata` husbot put in a modal, as an object; None when it is not a JSON object."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except (ValueError, TypeError, AttributeError):
        return None
    return meta if isinstance(meta, dict) else None


def digits(value) -> bool:
    """Whether `value` is a whole number written in ASCII digits (`str.isdigit` also takes «²»)."""
    return isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).isascii() \
        and str(value).isdigit()


def box_value(view: dict, block_id: str, action_id: str) -> str | None:
    """The text in one box of a submitted modal (`state.values[block][action].value`); None when it is not text."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(block_id) if isinstance(values, dict) else None
    box = block.get(action_id) if isinstance(block, dict) else None
    value = box.get("value") if isinstance(box, dict) else None
    return value if isinstance(value, str) else None


def view_lang(view: dict) -> str:
    """The language a modal was drawn in (nb when it cannot be read)."""
    lang = (view_metadata(view) or {}).get("lang")
    return lang if lang in ("nb", "en") else "nb"


def _fields(body: dict, rules) -> str | None:
    for path, types, required in rules:
        value = _get(body, path)
        if value is _MISSING or (value is None and not required):
            if required:
                return f"{'.'.join(path)} is missing"
            continue
        if types == ID:
            if not isinstance(value, str):
                return f"{'.'.join(path)} is not text"
            if len(value) > MAX_ID:
                return f"{'.'.join(path)} is longer than {MAX_ID} characters"
        elif not isinstance(value, types):
            return f"{'.'.join(path)} is not {'text' if types == TEXT else 'a list' if types == LIST else 'an object'}"
    return None


def _each(items: list, where: str, rules) -> str | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{where}[{i}] is not an object"
        problem = _fields(item, rules)
        if problem:
            return f"{where}[{i}].{problem}"
    return None


def _get(value, path: tuple):
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value

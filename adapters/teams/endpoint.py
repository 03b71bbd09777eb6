"""`POST /api/messages`: read the activity, check its token, run the handler, write the invoke response ourselves.

Why not `CloudAdapter.process()`: in botbuilder 4.17.1 it serialises an invoke response's body a second time and
answers HTTP 500 for every invoke with a body (`'dict' object has no attribute 'is_xml_model'`), which breaks
Action.Execute. We call `process_activity` and write the `InvokeResponse` ourselves (`invoke_body`): usually plain
JSON already, but botbuilder's own refusal of a malformed `adaptiveCard/action` is an object (#8).
"""
from __future__ import annotations

import json
import logging

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.core.serializer_helper import serializer_helper
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse
from msrest.serialization import Model

from .auth import Unauthorized, authenticate, check_header
from .handler import TeamsHandler

log = logging.getLogger("husbot.teams")
MAX_ID = 512      # Teams' own ids are under 200 characters; each goes into a connector URL, percent-encoded


class BadActivity(Exception):
    """The body is not a Bot Framework activity we can answer."""


def read_activity(raw: bytes) -> Activity:
    try:
        body = json.loads(raw)
    except ValueError:      # includes UnicodeDecodeError
        raise BadActivity("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadActivity("the body is not a JSON object")
    if not isinstance(body.get("type"), str) or not body["type"]:   # why here: msrest would turn 5 into "5"
        raise BadActivity("the activity has no type")
    if body.get("id") is not None and not _usable_id(body["id"]):
        # why: msrest turns {} into "{}", and the reply to an activity of that id failed as a 500 (#8)
        raise BadActivity("the activity's id is not a valid id")
    if body["type"] == "invoke" and body.get("name") == "adaptiveCard/action":
        # why: botbuilder answers a missing value or action with its own 400, but an action that is not an object
        # (a list, a number) crashed in ActivityHandler._get_adaptive_card_invoke_value with a 500 (#8)
        action = body["value"].get("action") if isinstance(body.get("value"), dict) else None
        if action is not None and not isinstance(action, dict):
            raise BadActivity("the card action is not an object")
    for who in ("from", "recipient"):
        account = body.get(who)
        ident = account.get("id") if isinstance(account, dict) else None
        if ident is not None and (not isinstance(ident, str) or len(ident) > MAX_ID):
            # why: the sender's id goes into the member lookup's URL; 100 KB of it is more than a URL line holds
            raise BadActivity(f"the activity's {who}.id is not a valid id")
    entities = body.get("entities")
    if entities is not None and (not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities)):
        # why: msrest keeps a null entity as None, and reading the mentions of [null] was a 500 (#8)
        raise BadActivity("the activity's entities are not a list of objects")
    conversation = body.get("conversation")
    # why before msrest: it turns an id of {} into "{}", and the reply to that conversation failed as a 500 (#8)
    if not isinstance(conversation, dict) or not _usable_id(conversation.get("id")):
        raise BadActivity("the activity has no conversation")
    try:
        activity = Activity().deserialize(body)
    except Exception as e:   # msrest raises its own DeserializationError and friends
        raise BadActivity(f"not an activity ({type(e).__name__})") from None
    if not isinstance(activity.service_url, str) or not activity.service_url.startswith(("https://", "http://")):
        raise BadActivity("the activity has no serviceUrl to answer to")
    if activity.conversation is None or not activity.conversation.id:
        raise BadActivity("the activity has no conversation")
    return activity


def _usable_id(value) -> bool:
    """An id the reply can be addressed to: text, and nothing the connector call cannot carry (found by fuzzing,
    #8: an id with a leading space is an invalid HTTP header, "." and ".." are no URL path segment)."""
    return isinstance(value, str) and value.strip() == value and value.isprintable() \
        and value not in ("", ".", "..") and len(value) <= MAX_ID


def messages_endpoint(adapter: CloudAdapter, handler: TeamsHandler, settings):
    async def messages(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        try:
            check_header(settings, header)   # why first: an unauthorised caller does not get its body parsed
            activity = read_activity(await request.read())
            auth = await authenticate(adapter, settings, activity, header)
        except Unauthorized as e:
            log.info("refused a Teams request: %s", e)
            return web.json_response({"error": "unauthorized"}, status=401)
        except BadActivity as e:
            log.info("rejected a malformed Teams request: %s", e)
            return web.json_response({"error": f"malformed activity: {e}"}, status=400)
        try:
            invoke = await adapter.process_activity(auth, activity, handler.on_turn)
        except Exception:
            log.exception("Teams activity %s failed", activity.type)
            return web.json_response({"error": "internal error"}, status=500)
        if invoke is not None and invoke.body is not None:
            return web.json_response(invoke_body(invoke.body), status=int(invoke.status or 200))
        if invoke is not None:
            return web.Response(status=int(invoke.status or 200))
        return web.Response(status=200)

    return messages


def invoke_body(body) -> dict | list | str | int | float | bool:
    """An invoke response's body as JSON: husbot's own cards are plain dicts already; botbuilder's refusal of a
    malformed `adaptiveCard/action` («Missing action property», an unsupported action type) is an
    `AdaptiveCardInvokeResponse` whose value is an `Exception(code, message)`, which msrest cannot serialise either.
    It becomes the Universal Actions error shape, `{"statusCode", "type", "value": {"code", "message"}}`."""
    if isinstance(body, AdaptiveCardInvokeResponse):
        value = body.value
        if isinstance(value, Exception):
            code, message = (list(value.args) + ["", ""])[:2]
            value = {"code": str(code), "message": str(message)}
        return {"statusCode": int(body.status_code or 200), "type": body.type or "", "value": value}
    if isinstance(body, Model):
        return serializer_helper(body)
    return body

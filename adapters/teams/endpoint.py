"""`POST /api/messages`: read the activity, check its token, run the handler, write the invoke response ourselves.

Why not `CloudAdapter.process()`: in botbuilder 4.17.1 it serialises an invoke response's body a second time and
answers HTTP 500 for every invoke with a body (`'dict' object has no attribute 'is_xml_model'`), which breaks
Action.Execute. We call `process_activity` and write the `InvokeResponse` (already plain JSON) as it is.
"""
from __future__ import annotations

import json
import logging

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from .auth import Unauthorized, authenticate, check_header
from .handler import TeamsHandler

log = logging.getLogger("husbot.teams")


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
    conversation = body.get("conversation")
    # why before msrest: it turns an id of {} into "{}", and the reply to that conversation failed as a 500 (#8)
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
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
            return web.json_response(invoke.body, status=int(invoke.status or 200))
        if invoke is not None:
            return web.Response(status=int(invoke.status or 200))
        return web.Response(status=200)

    return messages

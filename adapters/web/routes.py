"""The web chat's HTTP handlers: read the request, call the bot, answer JSON; failures become a JSON message."""
from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

from aiohttp import web

from bot import Bot, t
from bot.minutes.chat import UPLOAD_MAX_BYTES

from .guard import same_origin
from .translate import (BUTTON_THREAD, ERRORS, BadRequest, action_value, feedback_id, language, text_field,
                        to_json, to_turn)

log = logging.getLogger("husbot.web")
STATIC = Path(__file__).parent / "static"
# why so strict: the page loads nothing but its own files, so injected markup could not fetch or run anything
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# why not ASCII-escaped: the texts are Norwegian, and someone reading the API with curl should be able to read them
dumps = functools.partial(json.dumps, ensure_ascii=False)


def error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=dumps)


async def read_body(request: web.Request) -> dict:
    try:
        body = json.loads(await request.text())
    except ValueError:      # includes UnicodeDecodeError
        raise BadRequest(ERRORS["not_json"]) from None
    if not isinstance(body, dict):
        raise BadRequest(ERRORS["not_json"])
    return body


def api(handler):
    """One place where an API request's failure becomes {"error": "..."} in Norwegian."""
    @functools.wraps(handler)
    async def wrapped(self, request: web.Request) -> web.Response:
        # why here: every POST of the API changes state (answers, votes, minutes), so none may come from another site
        if not same_origin(request, self.bot.knowledge.settings.public_url):
            return error(ERRORS["cross_site"], 403)
        try:
            return web.json_response(await handler(self, request, await read_body(request)), dumps=dumps)
        except BadRequest as e:
            return error(str(e), 400)
        except web.HTTPRequestEntityTooLarge:
            return error(ERRORS["too_large"], 413)
        except Exception:
            log.exception("web chat request failed: %s", request.path)
            return error(t("error", "nb"), 500)
    return wrapped


async def read_upload(request: web.Request) -> tuple[dict, str, bytes]:
    """The form fields and the one file of a multipart upload; a file over the limit is cut at limit + 1 byte so the
    core can say it is too big without the server holding all of it."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise BadRequest(ERRORS["upload"]) from None
    fields: dict = {}
    name, data = "", None
    while (part := await reader.next()) is not None:
        if part.filename is not None and data is None:
            name, chunks, size = part.filename, [], 0
            while size <= UPLOAD_MAX_BYTES and (chunk := await part.read_chunk(2 ** 16)):
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)[:UPLOAD_MAX_BYTES + 1]
        elif part.name in ("text", "conversation_id", "lang"):
            fields[part.name] = (await part.text())[:4000]
    if data is None:
        raise BadRequest(ERRORS["upload"])
    return fields, name, data


class WebChat:
    def __init__(self, bot: Bot):
        self.bot = bot

    async def index(self, request: web.Request) -> web.Response:
        return web.FileResponse(STATIC / "index.html", headers={
            "Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    @api
    async def ask(self, request: web.Request, body: dict) -> dict:
        """{text, conversation_id, pilot?} -> the reply."""
        turn = to_turn(body, request.remote, text=text_field(body, "text"))
        return to_json(await self.bot.handle(turn))

    @api
    async def action(self, request: web.Request, body: dict) -> dict:
        """{kind, value, conversation_id} for a button under an answer (👍, 👎, show source) or a minutes draft
        (minutes_accept with the id; minutes_save with {"id", "decisions", "actions", "questions"} as value)."""
        kind = text_field(body, "kind")
        value = action_value(body, kind)
        turn = to_turn(body, request.remote, thread=BUTTON_THREAD)
        return to_json(await self.bot.act(turn, kind, value))

    async def upload(self, request: web.Request) -> web.Response:
        """multipart {text, conversation_id, lang?, file}: finished minutes as a file («referat importer …»)."""
        if not same_origin(request, self.bot.knowledge.settings.public_url):
            return error(ERRORS["cross_site"], 403)
        try:
            fields, name, data = await read_upload(request)
            turn = to_turn(fields, request.remote, text=fields.get("text") or "referat importer")
            return web.json_response(to_json(await self.bot.upload(turn, name, data)), dumps=dumps)
        except BadRequest as e:
            return error(str(e), 400)
        except Exception:
            log.exception("web chat upload failed")
            return error(t("error", "nb"), 500)

    @api
    async def feedback_reason(self, request: web.Request, body: dict) -> dict:
        """{feedback_id, reason} from the "Hva var galt?" box after a 👎."""
        fid, reason = feedback_id(body), text_field(body, "reason")
        if not reason.strip():
            raise BadRequest(ERRORS["reason"])
        return to_json(self.bot.add_feedback_reason(fid, reason, language(body) or "nb"))

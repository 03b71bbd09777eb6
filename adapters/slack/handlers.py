"""The Slack adapter's one handler: every Slack request becomes `bot.handle`/`bot.act`, every Reply a Slack post.

Bolt does the Slack protocol (signatures, retries' headers, acknowledging within 3 s, Socket Mode envelopes); each
listener acknowledges at once and does the slow part (retrieval) in a lazy listener.
"""
from __future__ import annotations

import json
import logging
import re

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot import Bot, Reply, Turn, t
from bot.minutes.chat import UPLOAD_MAX_BYTES

from .guard import RefuseMalformedPayloads, box_value, digits, view_lang, view_metadata
from .status import STATUS_VIEW, StatusForms
from .translate import (ACTION_ID, MAX_INPUT, action_to_turn, command_to_turn, fallback_text, mentions,
                        minutes_form_values, minutes_form_view, to_blocks, to_turn)

log = logging.getLogger("husbot.slack")

BOLT_KEY = web.AppKey("slack_bolt", AsyncApp)
REASON_VIEW = "feedback_reason"
MINUTES_VIEW = "minutes_edit"


def build_bolt_app(bot: Bot, settings, verify_requests: bool = True) -> AsyncApp:
    """The bolt app that listens for mentions, DMs, channel messages (for minutes), `/husbot`, buttons and forms."""
    client = AsyncWebClient(token=settings.slack_bot_token, **_base_url(settings))
    # why before_authorize: that step runs right after the signature check and before bolt's own authorization,
    # which already reads `event` as an object, its matchers and every listener
    app = AsyncApp(signing_secret=settings.slack_signing_secret or None,
                   client=client, process_before_response=False, request_verification_enabled=verify_requests,
                   before_authorize=RefuseMalformedPayloads(), name="husbot")
    handler = SlackHandler(bot)
    # why lazy everywhere: retrieval can outlast Slack's 3 s; ack first, answer in a task (bolt's lazy listeners)
    app.event("app_mention")(ack=_ack, lazy=[handler.on_message])
    app.event("message")(ack=_ack, lazy=[handler.on_message])
    app.command("/husbot")(ack=_ack, lazy=[handler.on_command])
    app.action(ACTION_ID)(ack=_ack, lazy=[handler.on_button])
    app.view_submission(REASON_VIEW)(ack=_ack, lazy=[handler.on_reason])
    app.view_submission(MINUTES_VIEW)(ack=_ack_minutes_form, lazy=[handler.on_minutes_form])
    # why the status form is checked in the ack: field errors must go back in the 3 s acknowledgement to show
    app.view_submission(STATUS_VIEW)(ack=handler.status.ack, lazy=[handler.status.submitted])
    # why: any other subscribed event gets 200 rather than bolt's 404, which Slack would keep retrying
    app.event(re.compile(r".+"))(_ack)
    return app


def _base_url(settings) -> dict:
    url = settings.slack_api_url
    return {"base_url": url if url.endswith("/") else url + "/"} if url else {}


async def _ack(ack):
    await ack()


async def _ack_minutes_form(ack, view: dict):
    """Check the «Rediger» form before Slack closes it: a broken form is told so, a too-long box is marked."""
    _, problem = check_minutes_form(view)
    await ack(**(problem or {}))


def check_minutes_form(view: dict) -> tuple[tuple[dict, dict] | None, dict | None]:
    """((metadata, values) to save, None), or (None, the acknowledgement that says what is wrong)."""
    read = minutes_form_values(view)
    if read is None:
        lang = view_lang(view)
        return None, {"response_action": "update", "view": notice_view(t("minutes_bad_form", lang), lang)}
    meta, values = read
    too_long = {k: t("minutes_box_too_long", meta.get("lang") or "nb", n=len(v), max=MAX_INPUT)
                for k, v in values.items() if k != "id" and len(v) > MAX_INPUT}
    if too_long:
        return None, {"response_action": "errors", "errors": too_long}
    return read, None


def dm_sender(client: AsyncWebClient):
    """The outbox's Slack sender: a direct message to the person's Slack user id (reminders, status prompts)."""

    async def send(recipient, reply: Reply) -> None:
        # why the user id as channel: chat.postMessage opens (or reuses) the app's DM with that user
        await client.chat_postMessage(channel=recipient.slack_user_id, text=fallback_text(reply),
                                      blocks=to_blocks(reply))

    return send


def events_endpoint(bolt: AsyncApp, signing_secret: str):
    """The aiohttp handler for POST /slack/events: Slack's events, slash commands and button presses into bolt."""
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        return await dispatch(bolt, verifier, request)

    return slack_events


async def dispatch(bolt: AsyncApp, verifier: SignatureVerifier, request: web.Request) -> web.Response:
    raw = await request.text()
    try:
        bolt_request = AsyncBoltRequest(body=raw, query=request.query_string, headers=dict(request.headers))
        if not isinstance(bolt_request.body, dict):
            raise ValueError("the body is not a JSON object")
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        # why here: bolt parses the body before it checks the signature, so a malformed body would be a 500
        signed = verifier.is_valid_request(raw, dict(request.headers))
        log.info("rejected a malformed Slack request (%s)", e)
        return web.json_response({"error": "malformed request body"}, status=400 if signed else 401)
    return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))


class SlackHandler:
    """Translate, ask the bot, post the reply; nothing here decides what to answer."""

    def __init__(self, bot: Bot):
        self.bot = bot
        self.people: dict[str, tuple[str, str]] = {}     # Slack user id -> (name, email), for the roster
        self.status = StatusForms(self)

    async def on_message(self, body: dict, event: dict, client: AsyncWebClient, context):
        if event.get("type") == "app_mention" and (event.get("channel") or "").startswith("D"):
            return   # why: in a DM the same words also arrive as message.im; answer that one only
        bot_user_id = context.bot_user_id or ""
        if event.get("type") == "message" and event.get("channel_type") != "im" and mentions(event, bot_user_id):
            return   # why: a message naming husbot also arrives as app_mention; that copy is the one handled
        turn = to_turn(event, event_id=body.get("event_id") or "", bot_user_id=bot_user_id)
        if turn is None:
            return
        files = event.get("files") or []
        if turn.addressed and files:       # «referat importer» with the minutes attached
            reply = await self._upload(turn, files[0], client)
        else:
            reply = await self._handle(turn, client)
        if not turn.addressed:
            return   # overheard: an open minutes capture may have taken it; it is never answered
        thread = event.get("thread_ts") or (None if turn.is_dm else event.get("ts"))
        await self.post(client, reply, channel=turn.channel_id, user=turn.user_id, thread_ts=thread)

    async def on_command(self, body: dict, client: AsyncWebClient, respond):
        turn = command_to_turn(body)
        reply = await self._handle(turn, client)
        if reply is not None and reply.kind == "status_form":   # «status svar»: a slash command can open a modal
            if await self.status.open(client, body.get("trigger_id") or "", reply, turn.channel_id):
                return
        if reply is not None:
            await respond(text=fallback_text(reply), blocks=to_blocks(reply),
                          response_type="ephemeral" if reply.ephemeral else "in_channel")

    async def on_button(self, body: dict, client: AsyncWebClient, respond):
        turn, kind, value = action_to_turn(body)
        await self._who(turn, client)
        try:
            reply = await self.bot.act(turn, kind, value)
        except Exception:
            log.exception("Slack button %s failed", kind)
            reply = Reply("error", t("error"), ephemeral=True)
        message = body.get("message") or {}
        thread = turn.thread_id or (None if turn.is_dm else message.get("ts"))
        if kind == "minutes_edit" and reply.kind == "minutes_draft":
            lang = reply.lang
            if (reply.data.get("minutes") or {}).get("status") != "draft":   # accepted since the draft was posted
                reply = Reply("error", t("minutes_not_draft", lang, id=value), lang, ephemeral=True)
            elif await self._open_minutes_form(client, body.get("trigger_id") or "", reply, turn, thread):
                return
            else:
                reply = Reply("error", t("minutes_form_failed", lang, id=value), lang, ephemeral=True)
        if kind == "status_open" and reply.kind == "status_form":
            if await self.status.open(client, body.get("trigger_id") or "", reply, turn.channel_id):
                return
            reply = self.status.failed(reply)
        if kind == "feedback_down" and reply.kind == "feedback" and reply.answer_id and body.get("trigger_id"):
            await self._ask_reason(client, body["trigger_id"], reply, turn)
        await self.post(client, reply, channel=turn.channel_id, user=turn.user_id, thread_ts=thread, respond=respond)

    async def on_reason(self, body: dict, view: dict, client: AsyncWebClient):
        meta = view_metadata(view) or {}
        reason = box_value(view, "reason", "reason") or ""
        if not digits(meta.get("feedback_id")) or not reason.strip():
            return   # not a form husbot drew, or an empty box: nothing to store
        reply = self.bot.add_feedback_reason(int(meta["feedback_id"]), reason, view_lang(view))
        channel, thread = meta.get("channel"), meta.get("thread_ts")
        if channel and isinstance(channel, str):
            await self.post(client, reply, channel=channel, user=body["user"]["id"],
                            thread_ts=thread if thread and isinstance(thread, str) else None)

    async def on_minutes_form(self, body: dict, view: dict, client: AsyncWebClient):
        """A saved «Rediger» form: a new draft version, posted where the draft was."""
        read, _ = check_minutes_form(view)
        if read is None:
            return   # the acknowledgement already told the person in the modal
        meta, values = read
        user = (body.get("user") or {}).get("id") or ""
        channel = meta.get("channel") if isinstance(meta.get("channel"), str) and meta.get("channel") else user
        thread = meta.get("thread_ts") if isinstance(meta.get("thread_ts"), str) else ""
        turn = Turn("", user_id=user, channel_id=channel, thread_id=thread,
                    platform="slack", is_dm=channel.startswith("D"), lang=view_lang(view))
        await self._who(turn, client)
        try:
            values = await self._with_hidden_lines(turn, meta, values)
            reply = await self.bot.act(turn, "minutes_save", values)
        except Exception:
            log.exception("saving the minutes form failed")
            reply = Reply("error", t("error", turn.lang or "nb"), turn.lang or "nb", ephemeral=True)
        await self.post(client, reply, channel=channel, user=user, thread_ts=turn.thread_id or None)

    async def _with_hidden_lines(self, turn: Turn, meta: dict, values: dict) -> dict:
        """Put back the lines a too-long box could not show (see `minutes_form_view`), so saving loses nothing."""
        shown = meta.get("shown")
        if not isinstance(shown, dict) or not shown:
            return values
        current = await self.bot.act(turn, "minutes_edit", values["id"])
        before = ((current.data.get("form") or {}).get("values") or {}) if current.kind == "minutes_draft" else {}
        out = dict(values)
        for key, n in shown.items():
            hidden = str(before.get(key) or "").split("\n")[int(n):] if key in before and digits(n) else []
            out[key] = "\n".join([values.get(key) or "", *hidden]).strip("\n")
        return out

    async def _open_minutes_form(self, client: AsyncWebClient, trigger_id: str, reply: Reply, turn: Turn,
                                 thread: str | None) -> bool:
        if not trigger_id:
            return False
        meta = {"channel": turn.channel_id, "thread_ts": thread or ""}
        try:
            await client.views_open(trigger_id=trigger_id, view=minutes_form_view(reply, meta, MINUTES_VIEW))
        except SlackApiError as e:
            log.info("could not open the minutes form: %s", e)
            return False
        return True

    async def _handle(self, turn: Turn, client: AsyncWebClient) -> Reply | None:
        if not turn.is_bot:
            await self._who(turn, client)
        try:
            reply = await self.bot.handle(turn)
            if reply is not None and reply.kind == "status_overview":   # the matrix names fields by their labels
                reply.data.setdefault("labels", {f.key: f.text("label", reply.lang)
                                                 for f in self.bot.status.round.fields})
            return reply
        except Exception:
            log.exception("Slack turn failed")
            return Reply("error", t("error"), ephemeral=True)

    async def _upload(self, turn: Turn, file: dict, client: AsyncWebClient) -> Reply | None:
        """Fetch a file shared with husbot (files:read; the bot token authorises the private URL) and hand it on."""
        await self._who(turn, client)
        url = file.get("url_private_download") or file.get("url_private") or ""
        name = file.get("name") or file.get("title") or "fil"

        async def fetch() -> bytes:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                async with session.get(url, headers={"Authorization": f"Bearer {client.token}"}) as r:
                    r.raise_for_status()
                    return await r.content.read(UPLOAD_MAX_BYTES + 1)

        try:
            return await self.bot.upload(turn, name, fetch)
        except Exception as e:   # Slack unreachable, no files:read scope, a broken URL: say so, store nothing
            log.info("could not fetch the shared file %s: %s", name, type(e).__name__)
            return Reply("error", t("upload_failed", turn.lang or "nb", name=name), turn.lang or "nb", ephemeral=True)

    async def _who(self, turn: Turn, client: AsyncWebClient) -> None:
        """Name and e-mail of the asker, so the roster can recognise people imported by e-mail."""
        if not turn.user_id:
            return
        if turn.user_id not in self.people:
            try:
                user = (await client.users_info(user=turn.user_id))["user"]
                profile = user.get("profile") or {}
                self.people[turn.user_id] = (profile.get("display_name") or user.get("real_name") or user.get("name")
                                             or "", profile.get("email") or "")
            except Exception as e:   # missing users:read.email scope, or Slack unreachable: ask without them
                log.info("users.info failed for %s: %s", turn.user_id, e)
                return
        name, email = self.people[turn.user_id]
        turn.user_name = turn.user_name or name
        turn.email = turn.email or email

    async def _ask_reason(self, client: AsyncWebClient, trigger_id: str, reply: Reply, turn: Turn) -> None:
        meta = {"feedback_id": reply.answer_id, "lang": reply.lang, "channel": turn.channel_id,
                "thread_ts": turn.thread_id}
        try:
            await client.views_open(trigger_id=trigger_id, view=reason_view(reply.lang, meta))
        except SlackApiError as e:
            log.info("could not open the reason form: %s", e)

    async def post(self, client: AsyncWebClient, reply: Reply | None, *, channel: str, user: str,
                   thread_ts: str | None = None, respond=None) -> None:
        """Post a Reply: in the thread, or only to the asker when it is ephemeral."""
        if reply is None:
            return
        text, blocks = fallback_text(reply), to_blocks(reply)
        try:
            if reply.ephemeral:
                await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks,
                                                thread_ts=thread_ts)
            else:
                await client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)
        except SlackApiError as e:
            # why: a button under a /husbot answer may sit in a channel husbot has not joined; its response_url works
            log.info("posting to %s failed (%s)", channel, e.response.get("error"))
            if respond is None:
                raise
            await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def notice_view(text: str, lang: str) -> dict:
    """A modal that only says something (a form that could not be read)."""
    return {"type": "modal", "title": {"type": "plain_text", "text": "husbot"},
            "close": {"type": "plain_text", "text": t("cancel", lang)},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def reason_view(lang: str, meta: dict) -> dict:
    """The modal that asks what was wrong with an answer after 👎."""
    return {
        "type": "modal", "callback_id": REASON_VIEW, "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": t("reason_title", lang)},
        "submit": {"type": "plain_text", "text": t("send", lang)},
        "close": {"type": "plain_text", "text": t("cancel", lang)},
        "blocks": [{"type": "input", "block_id": "reason",
                    "label": {"type": "plain_text", "text": t("reason_label", lang)},
                    "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True,
                                "max_length": 2000}}],
    }


__all__ = ["BOLT_KEY", "MINUTES_VIEW", "SlackHandler", "build_bolt_app", "dm_sender", "events_endpoint",
           "notice_view", "reason_view"]

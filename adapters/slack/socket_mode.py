"""Slack over Socket Mode: the same bolt app, reached over a WebSocket husbot opens, so no public URL is needed."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from knowledge import HusbotError

from .handlers import BOLT_KEY, build_bolt_app, dm_sender

log = logging.getLogger("husbot.slack")

SOCKET_KEY = web.AppKey("slack_socket_mode", AsyncSocketModeHandler)
CONNECT_KEY = web.AppKey("slack_socket_connect", asyncio.Task)


def enable_socket_mode(app: web.Application, bot, settings) -> None:
    """Connect to Slack over Socket Mode when the aiohttp app starts, and disconnect when it stops."""
    if not settings.slack_app_token:
        raise HusbotError("Socket Mode needs an app-level token: set SLACK_APP_TOKEN (xapp-…)")
    if not settings.slack_bot_token:
        raise HusbotError("Socket Mode needs the bot token: set SLACK_BOT_TOKEN (xoxb-…)")
    if BOLT_KEY not in app:
        # why: Socket Mode alone needs no signing secret, so `build_app` may not have set up the HTTP side
        app[BOLT_KEY] = build_bolt_app(bot, settings, verify_requests=False)
        bot.outbox.register("slack", dm_sender(app[BOLT_KEY].client))

    async def connect(app: web.Application) -> None:
        handler = AsyncSocketModeHandler(app[BOLT_KEY], settings.slack_app_token)
        app[SOCKET_KEY] = handler
        # why a task: the client retries until Slack answers; the web chat must not wait for that
        app[CONNECT_KEY] = asyncio.create_task(handler.connect_async())
        log.info("Slack Socket Mode: connecting")

    async def disconnect(app: web.Application) -> None:
        if CONNECT_KEY in app:
            app[CONNECT_KEY].cancel()
        if SOCKET_KEY in app:
            await app[SOCKET_KEY].close_async()

    app.on_startup.append(connect)
    app.on_cleanup.append(disconnect)

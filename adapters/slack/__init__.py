"""Slack surface: mentions, DMs, `/husbot`, buttons, the 👎 reason form, minutes (channel capture, draft, edit
form, reminders in DMs) and the monthly status round (DM prompts, the form as a modal), over HTTP or Socket Mode.

Only translation lives here (`to_turn`, `to_blocks`, one handler); what to answer is decided in `bot/`.
"""
from __future__ import annotations

from aiohttp import web

from bot import Bot

from .handlers import BOLT_KEY, build_bolt_app, dm_sender, events_endpoint
from .manifest import manifest
from .socket_mode import enable_socket_mode
from .translate import to_blocks, to_turn

EVENTS_PATH = "/slack/events"


def setup(app: web.Application, bot: Bot, settings) -> None:
    """Mount `POST /slack/events` on the aiohttp app, answering with `bot`; reminders go out as Slack DMs."""
    bolt = build_bolt_app(bot, settings)
    app[BOLT_KEY] = bolt
    bot.outbox.register("slack", dm_sender(bolt.client))
    app.router.add_post(EVENTS_PATH, events_endpoint(bolt, settings.slack_signing_secret))


__all__ = ["EVENTS_PATH", "enable_socket_mode", "manifest", "setup", "to_blocks", "to_turn"]

"""The local web chat: a single page at `/` and a small JSON API (`/api/ask`, `/api/action`, `/api/feedback-reason`);
and the monthly status round's pages: the leader's form (`/status/form`) and the evaluator dashboard (`/status`)."""
from __future__ import annotations

from aiohttp import web

from bot import Bot

from . import status
from .routes import STATIC, WebChat
from .translate import to_json, to_turn

__all__ = ["setup", "to_json", "to_turn"]


def setup(app: web.Application, bot: Bot) -> None:
    """Add the web chat's page, static files and API routes, and the status form and dashboard, to `app`."""
    chat = WebChat(bot)
    app.router.add_get("/", chat.index)
    app.router.add_post("/api/ask", chat.ask)
    app.router.add_post("/api/action", chat.action)
    app.router.add_post("/api/upload", chat.upload)
    app.router.add_post("/api/feedback-reason", chat.feedback_reason)
    app.router.add_static("/static/", STATIC, name="web-static")
    status.setup(app, bot)

"""`husbot serve`: one aiohttp application for the web chat, Slack events and health; Teams joins it later.

This module is the composition root: it is the only place that knows every surface, and no surface imports another.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from bot import Bot
from knowledge import Knowledge, Settings

log = logging.getLogger("husbot.server")
BOT_KEY = web.AppKey("bot", Bot)
SURFACES_KEY = web.AppKey("surfaces", list)


@web.middleware
async def access_log(request: web.Request, handler):
    """One structured line per request."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        log.info("request method=%s path=%s status=%s ms=%.1f", request.method, request.path, status,
                 (time.perf_counter() - started) * 1000)


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    counts = bot.knowledge.store.counts()
    return web.json_response({"status": "ok", "documents": counts["documents"], "passages": counts["passages"],
                              "surfaces": sorted(request.app[SURFACES_KEY])})


def build_app(settings: Settings, knowledge: Knowledge | None = None, bot: Bot | None = None) -> web.Application:
    knowledge = knowledge or Knowledge(settings)
    bot = bot or Bot(knowledge)
    app = web.Application(middlewares=[access_log], client_max_size=1024 ** 2)
    app[BOT_KEY] = bot
    app[SURFACES_KEY] = []
    app.router.add_get("/healthz", healthz)

    from adapters import web as web_chat
    web_chat.setup(app, bot)
    app[SURFACES_KEY].append("web")

    if settings.slack_bot_token and settings.slack_signing_secret:
        from adapters import slack
        slack.setup(app, bot, settings)
        app[SURFACES_KEY].append("slack")
    else:
        log.info("Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable /slack/events")

    # Teams is always mounted: without an app id it refuses every request (unless allowed for development)
    from adapters import teams
    teams.setup(app, bot, settings)
    app[SURFACES_KEY].append("teams")

    if settings.scheduler:
        app.cleanup_ctx.append(_run_schedule)
    return app


async def _run_schedule(app: web.Application):
    """The features' timed jobs (bot/schedule.py): what fell due while down is sent once at start, then on time."""
    bot = app[BOT_KEY]
    scheduler = bot.schedule.start()
    catch_up = asyncio.create_task(bot.schedule.catch_up())
    yield
    catch_up.cancel()
    scheduler.shutdown(wait=False)

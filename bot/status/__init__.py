"""The monthly status round: fields, working-day calendar, rounds and answers, chat, overview, export.

`install(bot)` adds the «status» command, the `status_open` / `status_submit` buttons and two scheduled jobs
(`status_round`, `status_reminders`); `bot.status.round` is the API the surfaces and the CLI call.
"""
from __future__ import annotations

from .calendar import add_working_days, first_working_day, is_working_day, month_label, parse_month
from .chat import StatusChat
from .errors import StatusError
from .export import export_rows, to_csv, to_xlsx
from .fields import Field, load_fields
from .overview import overview
from .round import StatusInvalid, StatusRound

__all__ = ["Field", "StatusChat", "StatusError", "StatusInvalid", "StatusRound", "add_working_days", "export_rows",
           "first_working_day", "install", "is_working_day", "load_fields", "month_label", "overview", "parse_month",
           "to_csv", "to_xlsx"]


def install(bot) -> StatusChat:
    if isinstance(getattr(bot, "status", None), StatusChat):
        return bot.status
    chat = StatusChat(bot)
    bot.register_command("status", chat.command)
    bot.register_action("status_open", chat.on_open)
    bot.register_action("status_submit", chat.on_submit)
    hour = int(bot.knowledge.settings.status_hour)
    # why every 15 minutes: a round opened from the CLI (no Slack/Teams connection there) goes out soon after
    bot.schedule.add("status_round", chat.round.run_round, hour="*", minute="*/15")
    bot.schedule.add("status_reminders", chat.round.run_reminders, hour=hour, minute=0)
    # at start-up (catch-up) and hourly: answers stored but not searchable (a kill, or two servers indexing at once)
    bot.schedule.add("status_reindex", lambda now: chat.round.reindex(), minute=23)
    return chat

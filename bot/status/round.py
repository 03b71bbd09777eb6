"""The monthly status round: when it opens, who is prompted and reminded, and what happens to a submitted answer.

`StatusRound` is the API every surface and the CLI use (through `bot.status.round`); the chat commands and the
buttons in chat.py are a thin layer over it. Prompts and reminders go through the outbox, keyed per month, pilot
and person, so each is sent once even across restarts; the round's own row in SQLite says it was opened.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from indexer.status import index_status
from knowledge.pilots import PILOTS

from ..messages import t
from ..outbox import Recipient
from ..roster import Identity, normalise_pilot, RosterError
from ..turn import Action, Reply
from . import links
from .book import StatusBook
from .calendar import (RoundDates, deadline_end, month_label, month_of, parse_month, parse_reminder_days,
                       round_dates)
from .errors import StatusError
from .fields import Field, clean_values, load_fields
from .form import build_form

log = logging.getLogger("husbot.status")


class StatusInvalid(StatusError):
    """A submission with field errors; `errors` maps field key → (message key, args). Nothing was stored."""

    def __init__(self, errors: dict[str, tuple[str, dict]]):
        self.errors = errors
        super().__init__("status_invalid", n=len(errors))

    def messages(self, lang: str) -> dict[str, str]:
        return {k: t(key, lang, **args) for k, (key, args) in self.errors.items()}


def pilot_name(value: str) -> str:
    try:
        pilot = normalise_pilot(value)
    except RosterError:
        pilot = None
    if not pilot:
        raise StatusError("status_unknown_pilot", pilot=value or "", pilots=", ".join(PILOTS))
    return pilot


def may_answer(ident: Identity, pilot: str) -> bool:
    """A pilot's leaders and members answer for it; evaluators and admins for any pilot."""
    return ident.sees_everything or (ident.role in ("leader", "member") and ident.pilot == pilot)


class StatusRound:
    def __init__(self, bot):
        self.bot = bot
        self.settings = bot.knowledge.settings
        self.book = StatusBook(bot.knowledge.store.db)
        self.fields: list[Field] = load_fields(self.settings.status_fields_file or None)
        self.reminder_days = parse_reminder_days(self.settings.status_reminder_days)
        self.tz = self.settings.timezone
        self._index_lock = asyncio.Lock()

    def now(self) -> datetime:
        return self.bot.schedule.now()

    # -- dates ----------------------------------------------------------------------------------------------------
    def dates(self, month: str, deadline: date | None = None, opens_at: datetime | None = None) -> RoundDates:
        return round_dates(parse_month(month), self.tz, self.settings.status_hour, self.settings.status_deadline_days,
                           self.reminder_days, deadline, opens_at)

    def deadline(self, month: str) -> date:
        """The month's deadline: its round's, or the default one when no round was opened."""
        rnd = self.book.round(month)
        return date.fromisoformat(rnd["deadline"]) if rnd else self.dates(month).deadline

    # -- opening a round and prompting --------------------------------------------------------------------------
    async def start(self, month: str | None = None, deadline: date | None = None, by: str = "",
                    now: datetime | None = None) -> dict:
        """Open a round by hand (evaluator, CLI) and prompt every leader of a pilot that has not answered yet.

        Returns {"round": …, "counts": {"sent": n, "already": n, "undeliverable": n, "failed": n, "no_leader": n}}.
        """
        now = now or self.now()
        month = parse_month(month) if month else month_of(now.date())
        if deadline is not None and deadline < now.date():
            raise StatusError("status_deadline_past", deadline=deadline.isoformat())
        existing = self.book.round(month)
        opens = None if existing else min(now, self.dates(month).opens_at)
        self.book.open_round(self.dates(month, deadline, opens), "manual", by, replace_deadline=deadline is not None)
        counts = await self.prompt(month)
        return {"round": self.book.round(month), "counts": counts}

    async def prompt(self, month: str) -> dict:
        """Send the round's prompt to the leaders of every pilot without an answer (once per person, via the outbox)."""
        rnd = self.book.round(month)
        counts: dict[str, int] = {}
        for pilot in PILOTS:
            if self.book.latest(pilot, month):
                continue
            leaders = self.bot.roster.leaders(pilot)
            if not leaders:
                counts["no_leader"] = counts.get("no_leader", 0) + 1
                continue
            for person in leaders:
                reply = self.prompt_reply(pilot, month, rnd["deadline"], person.get("name") or "", person=person)
                key = f"status_prompt:{month}:{pilot}:{person['id']}"
                result = await self.bot.outbox.send(key, "status_prompt", Recipient.of(person), reply)
                counts[result] = counts.get(result, 0) + 1
        self.book.mark_prompted(month)
        return counts

    def prompt_reply(self, pilot: str, month: str, deadline: str, name: str = "", reminder: bool = False,
                     lang: str = "nb", person: dict | None = None) -> Reply:
        key = "status_reminder_text" if reminder else "status_prompt_text"
        text = t(key, lang, name=f" {name}" if name else "", pilot=pilot, month=month_label(month, lang),
                 deadline=deadline, code=month)
        # the person's own signed link to the web form, when the server has a public address (settings.public_url)
        data = {"pilot": pilot, "month": month, "deadline": deadline, "reminder": reminder}
        url = (links.form_url(self.settings, pilot, month, deadline, person, self.bot.knowledge.store)
               if person else None)
        if url:
            text += " " + links.LINK_TEXT.get(lang, links.LINK_TEXT["nb"]).format(url=url)
            data["form_url"] = url
        return Reply("status_reminder" if reminder else "status_prompt", text, lang,
                     actions=[Action("status_open", t("status_open_label", lang), f"{pilot}:{month}")], data=data)

    async def run_round(self, now: datetime) -> dict:
        """The scheduled job: open this month's round once it is due, and (re)try prompts until its deadline."""
        now = now.astimezone(ZoneInfo(self.tz))
        month = month_of(now.date())
        rnd = self.book.round(month)
        if rnd is None:
            if not self.settings.status_auto:
                return {"skipped": "auto off"}
            dates = self.dates(month)
            if now < dates.opens_at:
                return {"skipped": "not yet"}
            rnd = self.book.open_round(dates, "schedule")
        elif now < datetime.fromisoformat(rnd["opens_at"]):
            return {"skipped": "not yet"}
        if now.date() > date.fromisoformat(rnd["deadline"]):
            return {"skipped": "past deadline"}
        return await self.prompt(month)

    async def run_reminders(self, now: datetime) -> dict:
        """The scheduled job: on a reminder day, remind the leaders of pilots that have not answered (once each)."""
        now = now.astimezone(ZoneInfo(self.tz))
        today = now.date()
        if now.hour < self.settings.status_hour:
            return {"skipped": "not yet"}
        counts: dict[str, int] = {}
        for rnd in self.book.rounds():
            deadline = date.fromisoformat(rnd["deadline"])
            due = [d for d in rnd["reminders"] if d <= today.isoformat()]
            # why only the latest reminder day: after a restart, one reminder, not one per missed day
            if not due or today > deadline or not rnd["prompted_at"]:
                continue
            day = due[-1]
            for pilot in PILOTS:
                if self.book.latest(pilot, rnd["month"]):
                    continue
                for person in self.bot.roster.leaders(pilot):
                    reply = self.prompt_reply(pilot, rnd["month"], rnd["deadline"], person.get("name") or "", True,
                                              person=person)
                    key = f"status_reminder:{rnd['month']}:{pilot}:{person['id']}:{day}"
                    result = await self.bot.outbox.send(key, "status_reminder", Recipient.of(person), reply)
                    counts[result] = counts.get(result, 0) + 1
        return counts

    # -- the form and answers -----------------------------------------------------------------------------------
    def form(self, pilot: str, month: str, lang: str = "nb", now: datetime | None = None) -> dict:
        pilot, month = pilot_name(pilot), parse_month(month)
        deadline = self.deadline(month)
        late = (now or self.now()) >= deadline_end(deadline, self.tz)
        tasks = self.bot.minutes.book.tasks(pilot=pilot) if getattr(self.bot, "minutes", None) else []
        return build_form(self.fields, pilot, month, deadline.isoformat(), lang, self.book.latest(pilot, month),
                          self.book.previous(pilot, month), tasks, late)

    def submit(self, pilot: str, month: str, values: dict, by: str = "", platform: str = "",
               now: datetime | None = None) -> dict:
        """Validate and store a new version (late if after the deadline: flagged, never refused); not yet indexed.

        Raises StatusError for an unknown pilot or a bad month, StatusInvalid with per-field errors otherwise.
        """
        pilot, month = pilot_name(pilot), parse_month(month)
        now = (now or self.now()).astimezone(ZoneInfo(self.tz))
        if month > month_of(now.date()):
            raise StatusError("status_future_month", month=month)
        if not isinstance(values, dict):
            raise StatusError("status_bad_form")
        clean, errors = clean_values(self.fields, values)
        if errors:
            raise StatusInvalid(errors)
        deadline = self.deadline(month)
        late = now >= deadline_end(deadline, self.tz)
        return self.book.add_answer(pilot, month, clean, by=by, platform=platform, at=now, deadline=deadline,
                                    late=late)

    async def index(self, answer: dict) -> bool:
        """Make the answer searchable; on failure it stays stored and `husbot status reindex` retries."""
        try:
            # why the lock and the re-read: two submissions at once must leave the newest version in the index
            async with self._index_lock:
                answer = self.book.latest(answer["pilot"], answer["month"])
                await asyncio.to_thread(index_status, self.bot.knowledge, answer, self.fields)
        except Exception:
            log.exception("indexing the status of %s %s failed", answer["pilot"], answer["month"])
            return False
        self.book.mark_indexed(answer["id"])
        return True

    async def reindex(self) -> tuple[int, int]:
        """Index the answers whose search copy is missing (a failed index, or `husbot index --prune` removed it)."""
        store = self.bot.knowledge.store
        todo = [a for a in self.book.latest_all()
                if not a["indexed_at"] or store.document_by_path(f"status://{a['pilot']}/{a['month']}") is None]
        done = 0
        for answer in todo:
            done += await self.index(answer)
        return done, len(todo)

"""Timed work of the features (due-date reminders, the monthly status round), run by APScheduler 3.

Features declare jobs on the Bot (`bot.schedule.add`); `husbot serve` starts one AsyncIOScheduler with them. Jobs
keep no state of their own: what was sent lives in SQLite (the outbox), so a job may run again after a restart, and
`catch_up` jobs run once at start-up to send what fell due while the server was down. With several servers on one
database each job run takes a lock in the database first (`lock`); a server that does not get it skips that run,
another server is doing it.
"""
from __future__ import annotations

import logging
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable, ContextManager
from zoneinfo import ZoneInfo

log = logging.getLogger("husbot.schedule")

Job = Callable[[datetime], Awaitable[object]]


@dataclass
class JobSpec:
    name: str
    run: Job
    cron: dict             # APScheduler CronTrigger fields, e.g. {"hour": 8, "minute": 0}
    catch_up: bool = True


def _always(name: str) -> ContextManager[bool]:
    return contextlib.nullcontext(True)


@dataclass
class Schedule:
    timezone: str = "Europe/Oslo"
    lock: Callable[[str], ContextManager[bool]] = _always
    jobs: list[JobSpec] = field(default_factory=list)

    def add(self, name: str, run: Job, catch_up: bool = True, **cron) -> None:
        self.jobs.append(JobSpec(name, run, cron, catch_up))

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.timezone))

    async def run(self, name: str, now: datetime | None = None):
        """Run one job by hand (CLI, tests, start-up catch-up) at `now` (default: the current time)."""
        spec = next(j for j in self.jobs if j.name == name)
        return await self._locked(spec, now or self.now())

    async def _locked(self, spec: JobSpec, now: datetime):
        with self.lock(spec.name) as mine:
            if not mine:
                log.info("job %s skipped: another husbot server is running it", spec.name)
                return None
            return await spec.run(now)

    async def catch_up(self) -> None:
        for spec in self.jobs:
            if spec.catch_up:
                try:
                    await self._locked(spec, self.now())
                except Exception:
                    log.exception("catch-up of %s failed", spec.name)

    def start(self):
        """An AsyncIOScheduler (already started, on the running loop) with every job; the caller shuts it down."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger

        scheduler = AsyncIOScheduler(timezone=self.timezone)
        for spec in self.jobs:
            scheduler.add_job(self._wrap(spec), CronTrigger(timezone=self.timezone, **spec.cron), id=spec.name,
                              name=spec.name, coalesce=True, max_instances=1, misfire_grace_time=3600)
        scheduler.start()
        return scheduler

    def _wrap(self, spec: JobSpec):
        async def job():
            try:
                await self._locked(spec, self.now())
            except Exception:
                log.exception("scheduled job %s failed", spec.name)
        return job

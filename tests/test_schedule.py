"""The schedule as `husbot serve` runs it: real APScheduler 3 jobs on the event loop, in Oslo time, and the
catch-up at start-up. The clock is never slept on: a job is made due now and the test waits for its effect."""
from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from adapters.server import BOT_KEY, build_app
from bot import Bot, Turn
from bot.minutes import Minutes
from indexer import index_paths
from knowledge import Knowledge, Settings
from support import write_corpus

# why both: the store suite runs on SQLite and on PostgreSQL alike (issue 9)
pytestmark = pytest.mark.backends("sqlite", "postgresql")

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def knowledge(tmp_path, embedder, database_url):
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home"), min_confidence=0.01,
                                database_url=database_url), embedder=embedder)
    assert index_paths(k, [write_corpus(tmp_path / "corpus")]).errors == []
    yield k
    k.close()


async def until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the scheduled job did not run in time")


async def test_every_feature_job_is_scheduled_on_oslo_time(knowledge):
    bot = Bot(knowledge)
    scheduler = bot.schedule.start()
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert {"task_due_reminders", "minutes_reindex", "status_round", "status_reminders"} <= set(jobs)
        due = jobs["task_due_reminders"].next_run_time
        assert str(due.tzinfo) == "Europe/Oslo" and (due.hour, due.minute) == (knowledge.settings.reminder_hour, 0)
        assert jobs["status_round"].next_run_time.minute % 15 == 0
    finally:
        scheduler.shutdown(wait=False)


async def test_a_due_job_runs_on_the_loop_with_oslo_time_and_a_failing_one_does_not_stop_the_others(knowledge):
    bot = Bot(knowledge)
    seen = []

    async def broken(now):
        raise RuntimeError("a bug in one feature")

    async def probe(now):
        seen.append(now)

    bot.schedule.add("broken", broken, hour=3)
    bot.schedule.add("probe", probe, hour=3)
    scheduler = bot.schedule.start()
    try:
        now = datetime.now(OSLO)
        scheduler.modify_job("broken", next_run_time=now)
        scheduler.modify_job("probe", next_run_time=now)
        await until(lambda: seen)
        assert seen[0].tzinfo is not None and seen[0].utcoffset() == now.utcoffset()
        assert scheduler.get_job("broken") is not None     # still scheduled for its next time
    finally:
        scheduler.shutdown(wait=False)


async def test_husbot_serve_catches_up_at_start_up(knowledge):
    """Minutes accepted just before a crash (not yet searchable) are indexed when the server starts again."""
    bot = Bot(knowledge)
    await bot.handle(Turn("referat importer fellessamling 2023-02-15 Narvik\nFellessamling i Narvik\n"
                          "Det ble besluttet å etablere en fadderordning for nye statlige ansatte.",
                          platform="web", thread_id="T1", role="admin"))
    Minutes(knowledge.store.db).accept(1, by="Kari")

    app = build_app(knowledge.settings, knowledge)
    async with TestServer(app, host="127.0.0.1", port=0):
        served = app[BOT_KEY]
        await until(lambda: served.minutes.book.get(1)["indexed_at"])


async def test_the_scheduler_can_be_switched_off(tmp_path, embedder):
    for on in (True, False):
        k = Knowledge(Settings.load(environ={}, home=str(tmp_path / f"home-{on}"), scheduler=on), embedder=embedder)
        names = [getattr(f, "__name__", "") for f in build_app(k.settings, k).cleanup_ctx]
        assert ("_run_schedule" in names) is on
        k.close()

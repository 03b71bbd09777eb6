"""How many questions husbot works on at once and how many may wait for their turn; the rest hear at once that
husbot is busy, rather than waiting until the person (or Slack, or the browser) gives up."""
from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("husbot.bot")


class Busy(Exception):
    """Every slot is taken and the waiting line is full."""


class Admission:
    """At most `in_flight` questions are answered at once (each in a worker thread); up to `waiting` more queue
    for a slot in arrival order; a question beyond that raises `Busy` without waiting."""

    def __init__(self, in_flight: int, waiting: int):
        self.limit = max(1, int(in_flight))
        self.max_waiting = max(0, int(waiting))
        self.active = 0
        self.waiting = 0
        self.refused = 0
        self.peak = 0          # most questions in flight and waiting at one moment
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        # why per loop: the CLI runs each command in its own asyncio.run, and a semaphore belongs to one loop
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._slots = loop, asyncio.Semaphore(self.limit)
        return self._slots

    @contextlib.asynccontextmanager
    async def slot(self):
        """Hold one of the slots while answering; raises Busy at once when the line is full."""
        slots = self._semaphore()
        if self.active >= self.limit and self.waiting >= self.max_waiting:
            self.refused += 1
            log.warning("busy: %d questions in flight, %d waiting; refused one (%d so far)", self.active,
                        self.waiting, self.refused)
            raise Busy()
        self.waiting += 1
        self.peak = max(self.peak, self.active + self.waiting)
        try:
            await slots.acquire()
        finally:
            self.waiting -= 1
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            slots.release()

    def stats(self) -> dict:
        return {"in_flight": self.active, "waiting": self.waiting, "refused": self.refused, "peak": self.peak,
                "max_in_flight": self.limit, "max_waiting": self.max_waiting}

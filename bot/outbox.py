"""Messages husbot sends without being asked (due-date reminders, status prompts and reminders).

Each message has a key that names what it is for ("task_due:12:2025-03-15", "status_prompt:2025-03:Narvik:ola@…").
A key is claimed in the database before the message goes out, so a message is sent at most once even when the server
restarts or two jobs race; a send that failed may be tried again, a send that was under way when the process died
is not (it may have reached the person). Surfaces register a sender per platform; the outbox picks one per person.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from .turn import Reply

log = logging.getLogger("husbot.outbox")


@dataclass
class Recipient:
    """A person husbot can reach: ids from the roster (and from Teams' stored conversations)."""
    name: str = ""
    email: str = ""
    slack_user_id: str = ""
    teams_aad_id: str = ""

    @classmethod
    def of(cls, person: dict) -> "Recipient":
        return cls(person.get("name") or "", person.get("email") or "", person.get("slack_user_id") or "",
                   person.get("teams_aad_id") or "")

    def label(self) -> str:
        return self.name or self.email or self.slack_user_id or self.teams_aad_id


Sender = Callable[[Recipient, Reply], Awaitable[None]]
# which id a platform needs to reach a person directly
_ADDRESS = {"slack": "slack_user_id", "teams": "teams_aad_id"}


class Outbox:
    def __init__(self, db):
        self.db = db
        self.senders: dict[str, Sender] = {}

    def register(self, platform: str, sender: Sender) -> None:
        """A surface that can message a person directly (Slack DM, Teams proactive message) offers itself here."""
        self.senders[platform] = sender

    def status(self, key: str) -> str | None:
        row = self.db.execute("select status from outbox where key = ?", [key]).fetchone()
        return row[0] if row else None

    def sent(self, kind: str | None = None) -> list[dict]:
        where, args = ("kind = ?", [kind]) if kind else (None, [])
        return list(self.db["outbox"].rows_where(where, args, order_by="created_at"))

    def _claim(self, key: str, kind: str, platform: str, recipient: Recipient, reply: Reply) -> bool:
        """Take the key for this process. Why two conditional statements and not read-then-write: two servers on
        one database may claim at the same moment, and only the row count of a write tells which one won."""
        row = [key, kind, platform, recipient.label(), reply.text, "sending", "", time.time()]
        with self.db.atomic():
            cur = self.db.execute("insert or ignore into outbox(key, kind, platform, recipient, text, status, error, "
                                  "created_at) values (?, ?, ?, ?, ?, ?, ?, ?)", row)
            if cur.rowcount == 1:
                return True
            cur = self.db.execute("update outbox set kind = ?, platform = ?, recipient = ?, text = ?, status = ?, "
                                  "error = ?, created_at = ?, sent_at = null "
                                  "where key = ? and status in ('failed', 'undeliverable')", [*row[1:], key])
            return cur.rowcount == 1

    def _finish(self, key: str, status: str, error: str = "") -> None:
        with self.db.atomic():
            self.db.execute("update outbox set status = ?, error = ?, sent_at = ? where key = ?",
                            [status, error[:500], time.time() if status == "sent" else None, key])

    async def send(self, key: str, kind: str, recipient: Recipient, reply: Reply) -> str:
        """Deliver once: 'sent', 'already' (the key was used before), 'failed' or 'undeliverable' (no surface)."""
        platform = next((p for p, attr in _ADDRESS.items() if p in self.senders and getattr(recipient, attr)), "")
        if not self._claim(key, kind, platform or "-", recipient, reply):
            return "already"
        if not platform:
            self._finish(key, "undeliverable", "no Slack or Teams id for this person, or that surface is off")
            return "undeliverable"
        try:
            await self.senders[platform](recipient, reply)
        except Exception as e:  # the person is not reachable right now; a later run may try the key again
            log.warning("sending %s to %s on %s failed: %s", key, recipient.label(), platform, e)
            self._finish(key, "failed", f"{type(e).__name__}: {e}")
            return "failed"
        self._finish(key, "sent")
        return "sent"

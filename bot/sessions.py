"""Signed-in sessions of the web status dashboard, kept in the database.

Why not in memory: with several husbot servers behind one address, the next request of a signed-in evaluator may
reach another server; a session only one server knows would sign them out at random. Only a digest of the cookie
value is stored, so a copy of the database does not let anyone in.
"""
from __future__ import annotations

import hashlib
import secrets
import time


class Sessions:
    def __init__(self, db, seconds: float):
        self.db, self.seconds = db, seconds

    @staticmethod
    def _digest(sid: str) -> str:
        return hashlib.sha256(sid.encode("utf-8")).hexdigest()

    def start(self, who: dict) -> str:
        """A new session for the token `who` ({"id", "role", "name"}); returns the cookie value."""
        now = time.time()
        sid = secrets.token_urlsafe(32)
        with self.db.atomic():
            self.db.execute("delete from web_sessions where expires <= ?", [now])
            self.db["web_sessions"].insert({"digest": self._digest(sid), "token_id": who["id"], "role": who["role"],
                                            "name": who["name"], "csrf": secrets.token_urlsafe(24),
                                            "expires": now + self.seconds})
        return sid

    def get(self, sid: str | None) -> dict | None:
        if not sid:
            return None
        rows = list(self.db["web_sessions"].rows_where("digest = ? and expires > ?", [self._digest(sid), time.time()]))
        return dict(rows[0]) if rows else None

    def end(self, sid: str | None) -> None:
        if sid:
            with self.db.atomic():
                self.db.execute("delete from web_sessions where digest = ?", [self._digest(sid)])

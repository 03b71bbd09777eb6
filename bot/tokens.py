"""Sign-in tokens for the web dashboard: a random token is shown once; only its SHA-256 is stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from knowledge import HusbotError

TOKEN_ROLES = ("evaluator", "admin")


class TokenError(HusbotError):
    pass


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    def __init__(self, db):
        self.db = db

    def create(self, role: str, name: str = "") -> tuple[int, str]:
        """A new token for `role`; returns (id, token). The token itself is not stored and cannot be shown again."""
        if role not in TOKEN_ROLES:
            raise TokenError(f"unknown role '{role}' (use {', '.join(TOKEN_ROLES)})")
        token = "hb_" + secrets.token_urlsafe(32)
        with self.db.atomic():
            tid = self.db["api_tokens"].insert({"sha256": _digest(token), "role": role, "name": name,
                                                "created_at": time.time(), "revoked_at": None}).last_pk
        return tid, token

    def verify(self, token: str) -> dict | None:
        """The token's {id, role, name} when it is known and not revoked, else None."""
        if not token:
            return None
        digest = _digest(token.strip())
        found = None
        # why every row and compare_digest, not `where sha256 = ?`: the time taken must not tell how much of a
        # guessed digest matched (an index lookup compares byte by byte and stops at the first difference)
        for row in self.db.query("select id, role, name, sha256 from api_tokens where revoked_at is null"):
            if hmac.compare_digest(row["sha256"].encode(), digest.encode()) and found is None:
                found = {k: row[k] for k in ("id", "role", "name")}
        return found

    def revoke(self, token_id: int) -> None:
        with self.db.atomic():
            cur = self.db.execute("update api_tokens set revoked_at = ? where id = ? and revoked_at is null",
                                  [time.time(), int(token_id)])
        if cur.rowcount == 0:
            raise TokenError(f"no active token #{token_id}")

    def list(self) -> list[dict]:
        return [{k: r[k] for k in ("id", "role", "name", "created_at", "revoked_at")}
                for r in self.db["api_tokens"].rows_where(order_by="id")]

"""Signed links to the web status form: whoever holds the link may answer for one pilot and month, until it expires.

A link's token is `payload.signature`: the payload (pilot, month, the person's roster id and e-mail, expiry) as
base64url JSON, signed with HMAC-SHA256. The key is random, made once and kept in the data folder
(`status-links.key`, readable only by its owner), so a link cannot be forged and no token is stored anywhere. On
PostgreSQL the key lives in the database instead, so a link made by one server opens on every server.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time as clock
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from knowledge import HusbotError

KEY_FILE = "status-links.key"
FORM_PATH = "/status/form"
# why so long after the deadline: a late answer is still taken (and flagged), so the link must still open
DAYS_AFTER_DEADLINE = 45
LINK_TEXT = {"nb": "Du kan også fylle ut skjemaet i nettleseren: {url}",
             "en": "You can also fill in the form in your browser: {url}"}


class LinkError(HusbotError):
    """A form link that was altered, is not ours ("forged"), or ran out ("expired"); the surface says which."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"status form link {reason}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key(home: str | Path, store=None) -> bytes:
    """The signing key, made on first use (an existing one is never replaced): the deployment's, shared through the
    database, when `store` is one several servers share; else the data folder's."""
    if store is not None and hasattr(store, "shared_secret"):
        return store.shared_secret(KEY_FILE)
    path = Path(home) / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)       # why link, not rename: two processes at once must end up with the same key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text().strip())


def sign(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest())


def make_token(secret: bytes, pilot: str, month: str, person_id: int | str, email: str, expires: float) -> str:
    payload = _b64(json.dumps({"p": pilot, "m": month, "i": str(person_id), "e": email or "", "x": int(expires)},
                              separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{sign(secret, payload)}"


def read_token(secret: bytes, token: str, now: float | None = None) -> dict:
    """{"pilot", "month", "person_id", "email", "expires"} of a genuine, unexpired token; LinkError otherwise."""
    payload, _, signature = (token or "").strip().partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, sign(secret, payload)):
        raise LinkError("forged")
    try:
        data = json.loads(_unb64(payload))
        out = {"pilot": str(data["p"]), "month": str(data["m"]), "person_id": str(data["i"]),
               "email": str(data["e"]), "expires": int(data["x"])}
    except (ValueError, KeyError, TypeError):
        raise LinkError("forged") from None
    if (clock.time() if now is None else now) > out["expires"]:
        raise LinkError("expired")
    return out


def expiry(deadline: str | date, tz: str) -> float:
    day = date.fromisoformat(deadline) if isinstance(deadline, str) else deadline
    return datetime.combine(day + timedelta(days=DAYS_AFTER_DEADLINE + 1), time(0), ZoneInfo(tz)).timestamp()


def form_url(settings, pilot: str, month: str, deadline: str | date, person: dict, store=None) -> str | None:
    """The person's link to the web form for `pilot` and `month`; None when `public_url` is not set."""
    base = (settings.public_url or "").rstrip("/")
    if not base or not person.get("id"):
        return None
    token = make_token(key(settings.home, store), pilot, month, person["id"], person.get("email") or "",
                       expiry(deadline, settings.timezone))
    return f"{base}{FORM_PATH}?t={quote(token)}"

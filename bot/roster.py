"""Who belongs to which pilot with which role, and which Slack/Teams channel speaks for which pilot."""
from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass

from knowledge import HusbotError
from knowledge.pilots import PILOTS
from knowledge.textnorm import fold

# a leader is a member who answers the monthly status round for the pilot (bot/status/)
ROLES = ("member", "leader", "evaluator", "admin")
HEADER = ["pilot", "name", "role", "email", "slack_user_id", "teams_aad_id"]


class RosterError(HusbotError):
    pass


@dataclass
class Identity:
    role: str            # member | leader | evaluator | admin | guest
    pilot: str | None

    @property
    def sees_everything(self) -> bool:
        return self.role in ("evaluator", "admin")


def normalise_pilot(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    for p in PILOTS:
        if p.lower() == value.strip().lower():
            return p
    raise RosterError(f"unknown pilot '{value}' (use {', '.join(PILOTS)})")


class Roster:
    def __init__(self, db):
        self.db = db

    def import_csv(self, text: str) -> dict:
        """Add or update people from CSV with the header pilot,name,role,email,slack_user_id,teams_aad_id."""
        reader = csv.DictReader(io.StringIO(text))
        try:
            if [h.strip() for h in (reader.fieldnames or [])] != HEADER:
                raise RosterError(f"the CSV header must be: {','.join(HEADER)}")
            added = updated = 0
            rows = []
            for n, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                role = row["role"].lower() or "member"
                if role not in ROLES:
                    raise RosterError(f"line {n}: unknown role '{row['role']}' (use {', '.join(ROLES)})")
                try:
                    pilot = normalise_pilot(row["pilot"])
                except RosterError as e:
                    raise RosterError(f"line {n}: {e}") from None
                if role in ("member", "leader") and not pilot:
                    raise RosterError(f"line {n}: a {role} needs a pilot")
                if not (row["email"] or row["slack_user_id"] or row["teams_aad_id"]):
                    raise RosterError(f"line {n}: give an email, a Slack user id or a Teams AAD id")
                rows.append((row, role, pilot))
        except csv.Error as e:   # why: a field over csv's 128 KB limit was a traceback (#8)
            raise RosterError(f"line {reader.line_num}: not readable as CSV ({e})") from None
        with self.db.atomic():
            for row, role, pilot in rows:
                existing = self._find(row["email"], row["slack_user_id"], row["teams_aad_id"])
                record = {"name": row["name"], "email": row["email"].lower(), "pilot": pilot or "", "role": role,
                          "slack_user_id": row["slack_user_id"], "teams_aad_id": row["teams_aad_id"],
                          "updated_at": time.time()}
                if existing:
                    self.db["people"].update(existing["id"], record)
                    updated += 1
                else:
                    self.db["people"].insert(record)
                    added += 1
        return {"added": added, "updated": updated}

    def _find(self, email: str, slack_id: str, teams_id: str) -> dict | None:
        for column, value in (("email", (email or "").lower()), ("slack_user_id", slack_id), ("teams_aad_id", teams_id)):
            if value:
                rows = list(self.db["people"].rows_where(f"{column} = ?", [value], limit=1))
                if rows:
                    return rows[0]
        return None

    def add_channel(self, platform: str, channel_id: str, pilot: str) -> None:
        if platform not in ("slack", "teams"):
            raise RosterError("platform must be slack or teams")
        with self.db.atomic():
            self.db["channels"].upsert({"platform": platform, "channel_id": channel_id,
                                        "pilot": normalise_pilot(pilot)}, pk=("platform", "channel_id"))

    def people(self) -> list[dict]:
        return list(self.db["people"].rows_where(order_by="pilot, name"))

    def leaders(self, pilot: str) -> list[dict]:
        """The people who answer the monthly status round for `pilot`."""
        return list(self.db["people"].rows_where("pilot = ? and role = 'leader'", [pilot], order_by="name"))

    def channels(self) -> list[dict]:
        return list(self.db["channels"].rows_where(order_by="platform, channel_id"))

    def find_person(self, who: str) -> dict | None:
        """The roster entry a name, e-mail, Slack id («<@U123>», «U123») or Teams AAD id written in text points at."""
        who = (who or "").strip().lstrip("@")
        m = re.fullmatch(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]{6,})", who)
        if m:
            return self._find("", m.group(1) or m.group(2), "")
        if "@" in who:
            return self._find(who, "", "")
        found = self._find("", "", who) if re.fullmatch(r"[0-9a-f-]{36}", who) else None
        if found:
            return found
        words = set(fold(who).replace(".", " ").split())
        matches = [p for p in self.people()
                   if words and (words <= set(fold(p["name"] or "").split()) or set(fold(p["name"] or "").split()) == words)]
        return matches[0] if len(matches) == 1 else None

    def channel_pilot(self, platform: str, channel_id: str) -> str | None:
        rows = list(self.db["channels"].rows_where("platform = ? and channel_id = ?", [platform, channel_id]))
        return rows[0]["pilot"] if rows else None

    def identify(self, platform: str, user_id: str, email: str = "") -> Identity:
        column = {"slack": "slack_user_id", "teams": "teams_aad_id"}.get(platform)
        person = None
        if column and user_id:
            rows = list(self.db["people"].rows_where(f"{column} = ?", [user_id], limit=1))
            person = rows[0] if rows else None
        if person is None and email:
            person = self._find(email, "", "")
        if person is None:
            return Identity("guest", None)
        return Identity(person["role"], person["pilot"] or None)

"""Status rounds and answers in SQLite. Every submission is a new version; nothing is ever overwritten."""
from __future__ import annotations

import json
import time
from datetime import date, datetime

from knowledge.store import IntegrityError

from .calendar import RoundDates, parse_month, previous_month


class StatusBook:
    """Rounds (one per month: when it opened, its deadline, whether leaders were prompted) and answer versions."""

    def __init__(self, db):
        self.db = db

    # -- rounds -------------------------------------------------------------------------------------------------
    def round(self, month: str) -> dict | None:
        rows = list(self.db["status_rounds"].rows_where("month = ?", [parse_month(month)]))
        return _round(rows[0]) if rows else None

    def rounds(self) -> list[dict]:
        return [_round(r) for r in self.db["status_rounds"].rows_where(order_by="month")]

    def open_round(self, dates: RoundDates, source: str, by: str = "", replace_deadline: bool = False) -> dict:
        """Create the month's round, or return the existing one (with the new deadline if `replace_deadline`)."""
        with self.db.atomic():
            existing = self.round(dates.month)
            if existing is None:
                # why ignore: two servers opening the round at the same moment; the second keeps the first's row
                self.db["status_rounds"].insert({
                    "month": dates.month, "opens_at": dates.opens_at.isoformat(), "deadline": dates.deadline.isoformat(),
                    "reminders": json.dumps([d.isoformat() for d in dates.reminders]), "source": source,
                    "started_by": by, "created_at": time.time(), "prompted_at": None}, ignore=True)
            elif replace_deadline:
                self.db.execute("update status_rounds set deadline = ?, reminders = ? where month = ?",
                                [dates.deadline.isoformat(), json.dumps([d.isoformat() for d in dates.reminders]),
                                 dates.month])
        return self.round(dates.month)

    def mark_prompted(self, month: str) -> None:
        with self.db.atomic():
            self.db.execute("update status_rounds set prompted_at = coalesce(prompted_at, ?) where month = ?",
                            [time.time(), month])

    # -- answers ------------------------------------------------------------------------------------------------
    def add_answer(self, pilot: str, month: str, answers: dict[str, str], *, by: str, platform: str,
                   at: datetime, deadline: date | None, late: bool) -> dict:
        """Store a new version; two submissions at the same moment each get their own version number."""
        for _ in range(20):
            try:
                with self.db.atomic():
                    version = self.db.execute(
                        "select coalesce(max(version), 0) + 1 from status_answers where pilot = ? and month = ?",
                        [pilot, month]).fetchone()[0]
                    rid = self.db["status_answers"].insert({
                        "pilot": pilot, "month": month, "version": version,
                        "answers": json.dumps(answers, ensure_ascii=False), "submitted_by": by, "platform": platform,
                        "submitted_at": at.timestamp(), "deadline": deadline.isoformat() if deadline else "",
                        "late": int(late), "indexed_at": None}).last_pk
                return self.answer_by_id(rid)
            except IntegrityError:   # another writer took this version number first: take the next
                continue
        raise RuntimeError(f"could not store a status answer for {pilot} {month}")

    def answer_by_id(self, rid: int) -> dict:
        return _answer(dict(self.db["status_answers"].get(rid)))

    def latest(self, pilot: str, month: str) -> dict | None:
        rows = list(self.db["status_answers"].rows_where("pilot = ? and month = ?", [pilot, month],
                                                         order_by="version desc", limit=1))
        return _answer(rows[0]) if rows else None

    def versions(self, pilot: str, month: str) -> list[dict]:
        return [_answer(r) for r in self.db["status_answers"].rows_where("pilot = ? and month = ?", [pilot, month],
                                                                         order_by="version")]

    def first(self, pilot: str, month: str) -> dict | None:
        v = self.versions(pilot, month)
        return v[0] if v else None

    def previous(self, pilot: str, month: str) -> dict | None:
        """The latest answer of the month before."""
        return self.latest(pilot, previous_month(month))

    def answered_months(self) -> list[str]:
        return [r[0] for r in self.db.execute("select distinct month from status_answers order by month")]

    def latest_all(self) -> list[dict]:
        """The latest version of every pilot's answer for every month."""
        sql = ("select a.* from status_answers a where a.version = (select max(version) from status_answers b "
               "where b.pilot = a.pilot and b.month = a.month) order by a.month, a.pilot")
        return [_answer(dict(r)) for r in self.db.query(sql)]

    def mark_indexed(self, rid: int) -> None:
        with self.db.atomic():
            self.db.execute("update status_answers set indexed_at = ? where id = ?", [time.time(), rid])


def _round(r: dict) -> dict:
    r = dict(r)
    r["reminders"] = json.loads(r.get("reminders") or "[]")
    return r


def _answer(r: dict) -> dict:
    r = dict(r)
    r["answers"] = json.loads(r.get("answers") or "{}")
    r["late"] = bool(r.get("late"))
    return r

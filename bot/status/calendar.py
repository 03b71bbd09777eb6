"""Working days in Norway (weekends and public holidays off) and the dates of a month's status round."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .errors import StatusError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MONTH_NAMES = {
    "nb": ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november",
           "desember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}


@lru_cache(maxsize=32)
def _holidays(year: int):
    return holidays.country_holidays("NO", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first one after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int) -> date:
    """The working day `n` working days after `day` (n < 0: before it); n = 0 gives `day` moved to a working day."""
    day = next_working_day(day)
    step = 1 if n >= 0 else -1
    for _ in range(abs(n)):
        day += timedelta(days=step)
        while not is_working_day(day):
            day += timedelta(days=step)
    return day


def first_working_day(month: str) -> date:
    y, m = month_parts(month)
    return next_working_day(date(y, m, 1))


def month_parts(month: str) -> tuple[int, int]:
    m = _MONTH.match((month or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise StatusError("status_bad_month", value=month)
    return int(m.group(1)), int(m.group(2))


def parse_month(value: str) -> str:
    """'2025-03' → '2025-03'; anything else raises StatusError('status_bad_month')."""
    y, m = month_parts(value)
    return f"{y:04d}-{m:02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(month: str) -> str:
    y, m = month_parts(month)
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    out, cur = [], parse_month(first)
    last = parse_month(last)
    while cur <= last:
        out.append(cur)
        y, m = month_parts(cur)
        cur = f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"
    return out


def month_label(month: str, lang: str = "nb") -> str:
    """'2025-03' → 'mars 2025' / 'March 2025'."""
    y, m = month_parts(month)
    return f"{MONTH_NAMES.get(lang, MONTH_NAMES['nb'])[m - 1]} {y}"


def month_from_name(word: str, today: date) -> str | None:
    """'mars' / 'March' → that month of this year ('2025-03'); None when `word` is not a month name."""
    w = (word or "").strip().lower().rstrip(".")
    for names in MONTH_NAMES.values():
        for n, name in enumerate(names, 1):
            if len(w) >= 3 and name.lower().startswith(w):
                return f"{today.year:04d}-{n:02d}"
    return None


def parse_reminder_days(text: str) -> list[int]:
    """'2,0' → [2, 0]: working days before the deadline."""
    out = []
    for part in str(text or "").split(","):
        if part.strip():
            try:
                out.append(abs(int(part)))
            except ValueError:
                raise StatusError("status_bad_setting", name="status_reminder_days", value=text) from None
    return sorted(set(out), reverse=True)


@dataclass(frozen=True)
class RoundDates:
    """When a month's round opens, its deadline (the last day answers are on time) and its reminder days."""
    month: str
    opens_at: datetime
    deadline: date
    reminders: tuple[date, ...]


def round_dates(month: str, tz: str, hour: int, deadline_days: int, reminder_days: list[int],
                deadline: date | None = None, opens_at: datetime | None = None) -> RoundDates:
    zone = ZoneInfo(tz)
    opens = opens_at or datetime.combine(first_working_day(month), time(hour), zone)
    due = deadline or add_working_days(opens.date(), deadline_days)
    reminders = sorted({add_working_days(due, -n) for n in reminder_days if add_working_days(due, -n) >= opens.date()})
    return RoundDates(parse_month(month), opens, due, tuple(reminders))


def deadline_end(deadline: date, tz: str) -> datetime:
    """Answers are on time until the end of the deadline day, local time."""
    return datetime.combine(deadline + timedelta(days=1), time(0), ZoneInfo(tz))

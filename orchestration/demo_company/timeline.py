"""Time helpers: Unix seconds (Stripe's unit) and calendar-month arithmetic with an anchor day."""

from __future__ import annotations

import calendar
import datetime as dt

DAY = 86_400
UTC = dt.timezone.utc


def ts(value: dt.date | dt.datetime) -> int:
    if isinstance(value, dt.datetime):
        return int(value.replace(tzinfo=UTC).timestamp())
    return int(dt.datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())


def to_datetime(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=UTC)


def to_date(seconds: int) -> dt.date:
    return to_datetime(seconds).date()


def add_months(seconds: int, months: int, anchor_day: int | None = None) -> int:
    """Stripe's billing-cycle rule: same day of month as the anchor, clamped to the month's end."""
    d = to_datetime(seconds)
    total = d.month - 1 + months
    year, month = d.year + total // 12, total % 12 + 1
    day = min(anchor_day or d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """First day of every month from start's month to end's month, inclusive."""
    out, cur = [], start.replace(day=1)
    while cur <= end:
        out.append(cur)
        cur = (cur.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out

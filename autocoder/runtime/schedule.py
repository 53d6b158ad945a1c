"""Five-field cron schedules in UTC, without dependencies.

``minute hour day-of-month month day-of-week`` with ``*``, numbers, lists ``a,b``, ranges
``a-b``, steps ``*/n``, ``a-b/n`` and ``a/n`` (from ``a`` to the field's maximum), month names
``jan``..``dec`` and day names ``sun``..``sat``; day-of-week 0-7 where 0 and 7 are Sunday. The
shortcuts ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and
``@hourly`` are accepted too. As in Vixie cron, when both day-of-month and day-of-week are
restricted (neither starts with ``*``), a day matches if EITHER matches.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_SHORTCUTS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February in a leap year


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_from: int = 0  # the number of the first name

    def value(self, token: str, text: str) -> int:
        lowered = token.lower()
        if lowered in self.names:
            return self.names.index(lowered) + self.names_from
        if not token.isdigit():
            known = f" or a name {self.names[0]}..{self.names[-1]}" if self.names else ""
            raise ValueError(f"{self.name} field {text!r}: {token!r} is not a number{known}")
        number = int(token)
        if not self.low <= number <= self.high:
            raise ValueError(
                f"{self.name} field {text!r}: {number} is out of range {self.low}-{self.high}"
            )
        return number

    def parse(self, text: str) -> frozenset[int]:
        values: set[int] = set()
        for part in text.split(","):
            if not part:
                raise ValueError(f"{self.name} field {text!r}: empty list element")
            values.update(self._part(part, text))
        return frozenset(values)

    def _part(self, part: str, text: str) -> range:
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(
                    f"{self.name} field {text!r}: step {step_text!r} is not a positive integer"
                )
            step = int(step_text)
        if base == "*":
            return range(self.low, self.high + 1, step)
        first_text, dash, last_text = base.partition("-")
        if not first_text or (dash and not last_text):
            raise ValueError(f"{self.name} field {text!r}: {part!r} is not a value or a range")
        first = self.value(first_text, text)
        if dash:
            last = self.value(last_text, text)
            if last < first:
                raise ValueError(f"{self.name} field {text!r}: range {base} is reversed")
        else:
            last = self.high if slash else first
        return range(first, last + 1, step)


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 7, _DAYS, 0),
)


class Cron:
    """A parsed cron expression; ``next_after`` gives the next firing time in UTC."""

    def __init__(self, text: str) -> None:
        self.text = text
        expanded = _SHORTCUTS.get(text.strip().lower(), text)
        parts = expanded.split()
        if len(parts) != 5:
            raise ValueError(
                f"cron expression {text!r} has {len(parts)} fields; expected 5: "
                "minute hour day-of-month month day-of-week"
            )
        try:
            minutes, hours, days, months, weekdays = (
                spec.parse(part) for spec, part in zip(_FIELDS, parts, strict=True)
            )
        except ValueError as exc:
            raise ValueError(f"cron expression {text!r}: {exc}") from None
        self.minutes = sorted(minutes)
        self.hours = sorted(hours)
        self.days = days
        self.months = months
        self.weekdays = frozenset(d % 7 for d in weekdays)  # 0 and 7 are both Sunday
        self._days_restricted = not parts[2].startswith("*")
        self._weekdays_restricted = not parts[4].startswith("*")
        possible = any(min(days) <= _LONGEST_MONTH[m - 1] for m in months)
        if self._days_restricted and not self._weekdays_restricted and not possible:
            raise ValueError(
                f"cron expression {text!r}: day-of-month {parts[2]!r} never occurs "
                f"in month {parts[3]!r}"
            )

    def __repr__(self) -> str:
        return f"Cron({self.text!r})"

    def _day_matches(self, day: datetime) -> bool:
        in_month = day.day in self.days
        in_week = (day.weekday() + 1) % 7 in self.weekdays  # Python: Monday 0; cron: Sunday 0
        if self._days_restricted and self._weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, t: datetime) -> datetime:
        """The first firing time strictly after ``t`` (seconds are 0). A naive ``t`` is read
        as UTC and gives a naive result; an aware one gives a UTC result."""
        aware = t.tzinfo is not None
        moment = t.astimezone(UTC).replace(tzinfo=None) if aware else t
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment.year + 400  # the Gregorian calendar repeats every 400 years
        while moment.year <= limit:
            if moment.month not in self.months:
                moment = _first_of_next_month(moment)
                continue
            if not self._day_matches(moment):
                moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            hour = _first_at_least(self.hours, moment.hour)
            if hour is None:
                moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if hour != moment.hour:
                moment = moment.replace(hour=hour, minute=0)
            minute = _first_at_least(self.minutes, moment.minute)
            if minute is None:
                moment = moment.replace(minute=0) + timedelta(hours=1)
                continue
            found = moment.replace(minute=minute)
            return found.replace(tzinfo=UTC) if aware else found
        raise ValueError(f"cron expression {self.text!r} never fires")  # pragma: no cover


def _first_of_next_month(moment: datetime) -> datetime:
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1)
    return datetime(moment.year, moment.month + 1, 1)


def _first_at_least(values: list[int], least: int) -> int | None:
    index = bisect.bisect_left(values, least)
    return values[index] if index < len(values) else None

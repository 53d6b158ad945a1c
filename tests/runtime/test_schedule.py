"""Cron schedules: field syntax, next firing times across hour/day/month/year boundaries, leap
days, the Vixie day-of-month OR day-of-week rule, and precise errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from autocoder.runtime.schedule import Cron


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def firings(cron: str, start: str, count: int) -> list[str]:
    schedule, moment, out = Cron(cron), at(start), []
    for _ in range(count):
        moment = schedule.next_after(moment)
        out.append(moment.strftime("%Y-%m-%d %H:%M %a"))
    return out


def test_fields_expand_to_sets() -> None:
    cron = Cron("*/15 9-17/4 1,15 jan-mar mon-fri")
    assert cron.minutes == [0, 15, 30, 45]
    assert cron.hours == [9, 13, 17]
    assert cron.days == {1, 15}
    assert cron.months == {1, 2, 3}
    assert cron.weekdays == {1, 2, 3, 4, 5}
    assert Cron("5/20 * * * *").minutes == [5, 25, 45]
    assert Cron("0 0 * * 0").weekdays == Cron("0 0 * * 7").weekdays == {0}
    assert Cron("0 0 * * SUN,sat").weekdays == {0, 6}
    assert Cron("0 0 * * 5-7").weekdays == {5, 6, 0}


def test_next_is_strictly_after_and_on_the_minute() -> None:
    cron = Cron("* * * * *")
    assert cron.next_after(at("2024-05-01T10:00:00")) == at("2024-05-01T10:01:00")
    assert cron.next_after(at("2024-05-01T10:00:59.999")) == at("2024-05-01T10:01:00")
    assert Cron("5 10 * * *").next_after(at("2024-05-01T10:05:00")) == at("2024-05-02T10:05:00")


def test_hour_day_month_and_year_rollover() -> None:
    assert firings("15 */6 * * *", "2024-05-01T23:20", 2) == [
        "2024-05-02 00:15 Thu",
        "2024-05-02 06:15 Thu",
    ]
    assert firings("0 0 1 * *", "2024-01-31T23:59", 2) == [
        "2024-02-01 00:00 Thu",
        "2024-03-01 00:00 Fri",
    ]
    assert firings("30 23 31 12 *", "2023-12-31T23:30", 1) == ["2024-12-31 23:30 Tue"]
    # 31st only in months that have one
    assert firings("0 12 31 * *", "2024-04-01T00:00", 3) == [
        "2024-05-31 12:00 Fri",
        "2024-07-31 12:00 Wed",
        "2024-08-31 12:00 Sat",
    ]


def test_leap_day() -> None:
    assert firings("0 0 29 2 *", "2023-03-01T00:00", 3) == [
        "2024-02-29 00:00 Thu",
        "2028-02-29 00:00 Tue",
        "2032-02-29 00:00 Sun",
    ]
    # 2100 is not a leap year: eight years between leap days
    assert firings("0 0 29 2 *", "2096-03-01T00:00", 1) == ["2104-02-29 00:00 Fri"]


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # October 2024: Fridays 4, 11, 18, 25; the 13th is a Sunday
    assert firings("0 12 13 * fri", "2024-10-05T00:00", 3) == [
        "2024-10-11 12:00 Fri",
        "2024-10-13 12:00 Sun",
        "2024-10-18 12:00 Fri",
    ]


def test_a_star_field_makes_the_days_an_and() -> None:
    # day-of-month starts with '*': only the day-of-week restricts
    assert firings("0 0 */1 * mon", "2024-10-01T00:00", 2) == [
        "2024-10-07 00:00 Mon",
        "2024-10-14 00:00 Mon",
    ]
    # day-of-week is '*': only the 13th
    assert firings("0 0 13 * *", "2024-10-01T00:00", 2) == [
        "2024-10-13 00:00 Sun",
        "2024-11-13 00:00 Wed",
    ]
    # Feb 29th that is also a Sunday ('*/7' starts with '*': AND), 28 years apart at most
    assert firings("0 0 29 2 */7", "2021-01-01T00:00", 1) == ["2032-02-29 00:00 Sun"]


def test_shortcuts() -> None:
    assert firings("@daily", "2024-05-01T10:00", 1) == ["2024-05-02 00:00 Thu"]
    assert firings("@hourly", "2024-05-01T10:00", 1) == ["2024-05-01 11:00 Wed"]
    assert firings("@weekly", "2024-05-01T10:00", 1) == ["2024-05-05 00:00 Sun"]
    assert firings("@yearly", "2024-05-01T10:00", 1) == ["2025-01-01 00:00 Wed"]


def test_time_zones() -> None:
    cron = Cron("0 9 * * *")
    paris = timezone(timedelta(hours=2))
    found = cron.next_after(datetime(2024, 5, 1, 10, 30, tzinfo=paris))  # 08:30 UTC
    assert found == at("2024-05-01T09:00") and found.tzinfo is UTC
    naive = cron.next_after(datetime(2024, 5, 1, 10, 30))  # naive means UTC
    assert naive == datetime(2024, 5, 2, 9, 0) and naive.tzinfo is None


class CountingCron(Cron):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.day_checks = 0

    def _day_matches(self, day: datetime) -> bool:
        self.day_checks += 1
        return super()._day_matches(day)


def test_a_rare_schedule_is_found_by_jumps_not_minute_steps() -> None:
    yearly = CountingCron("59 23 31 12 *")
    assert yearly.next_after(at("2024-01-01T00:00")) == at("2024-12-31T23:59")
    assert yearly.day_checks <= 31  # months are skipped whole, then one check per day
    leap_sunday = CountingCron("0 0 29 2 */7")
    assert leap_sunday.next_after(at("2021-01-01T00:00")) == at("2032-02-29T00:00")
    assert leap_sunday.day_checks <= 12 * 29


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("* * * *", r"'\* \* \* \*' has 4 fields; expected 5: minute hour"),
        ("* * * * * *", "has 6 fields"),
        ("", "has 0 fields"),
        ("60 * * * *", "minute field '60': 60 is out of range 0-59"),
        ("* 24 * * *", "hour field '24': 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month field '0': 0 is out of range 1-31"),
        ("* * * 13 *", "month field '13': 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week field '8': 8 is out of range 0-7"),
        ("*/0 * * * *", r"minute field '\*/0': step '0' is not a positive integer"),
        ("*/x * * * *", "step 'x' is not a positive integer"),
        ("30-10 * * * *", "minute field '30-10': range 30-10 is reversed"),
        ("1,,2 * * * *", "minute field '1,,2': empty list element"),
        ("5- * * * *", "'5-' is not a value or a range"),
        ("-5 * * * *", "'-5' is not a value or a range"),
        ("* * * foo *", "month field 'foo': 'foo' is not a number or a name jan..dec"),
        ("* * * * monday", "'monday' is not a number or a name sun..sat"),
        ("a * * * *", "minute field 'a': 'a' is not a number$"),
        ("0 0 30 2 *", r"day-of-month '30' never occurs in month '2'"),
        ("0 0 31 4,6,9,11 *", "never occurs"),
    ],
)
def test_bad_expressions_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cron(text)


def test_an_impossible_day_is_fine_when_the_weekday_can_match() -> None:
    # Vixie OR: Feb 30th never comes, but Mondays in February do
    assert firings("0 0 30 2 mon", "2024-01-01T00:00", 1) == ["2024-02-05 00:00 Mon"]

"""China's working days: statutory holidays and 调休 working weekends.

Years that chinesecalendar knows come from it. A later year comes from a registered source
(the cases app reads the State Council's arrangement entered by a county admin). A date in a
year known to neither raises :class:`UnknownYear`, never a guess from the weekday alone: a
deadline computed from a guessed calendar is a deadline that may be wrong by a week.
"""

import datetime
import threading
import time
from collections.abc import Callable

import chinese_calendar
from chinese_calendar import constants

LIB_FIRST_YEAR = min(constants.holidays).year
LIB_LAST_YEAR = max(constants.holidays).year
# How long a year read from the source is trusted in this process; the source's writer
# also calls forget_year() after its commit.
_SOURCE_TTL = 60.0

# source(year) -> {date: is_workday} for the dates that differ from Mon-Fri, or None when
# the year is unknown to the source as well.
YearSource = Callable[[int], dict[datetime.date, bool] | None]
_source: YearSource | None = None
_cache: dict[int, tuple[float, dict[datetime.date, bool]]] = {}
_lock = threading.Lock()


class UnknownYear(ValueError):
    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"尚无 {year} 年的法定节假日安排，无法按工作日计算期限："
            f"请县级管理员录入国务院办公厅公布的 {year} 年部分节假日安排"
        )


def register_year_source(source: YearSource | None) -> None:
    global _source
    _source = source
    forget_year()


def forget_year(year: int | None = None) -> None:
    with _lock:
        if year is None:
            _cache.clear()
        else:
            _cache.pop(year, None)


def library_knows(year: int) -> bool:
    return LIB_FIRST_YEAR <= year <= LIB_LAST_YEAR


def _overrides(year: int) -> dict[datetime.date, bool]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(year)
    if cached and now - cached[0] < _SOURCE_TTL:
        return cached[1]
    days = _source(year) if _source else None
    if days is None:
        raise UnknownYear(year)
    with _lock:
        _cache[year] = (now, days)
    return days


def is_workday(day: datetime.date) -> bool:
    if isinstance(day, datetime.datetime):
        day = day.date()
    if library_knows(day.year):
        return chinese_calendar.is_workday(day)
    return _overrides(day.year).get(day, day.weekday() < 5)


def add_workdays(day: datetime.date, count: int) -> datetime.date:
    """The ``count``-th working day after ``day`` (``day`` itself does not count); with
    ``count`` 0, ``day`` if it is a working day, else the next one."""
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        while not is_workday(day):
            day += datetime.timedelta(days=1)
        return day
    while count:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            count -= 1
    return day


def workdays_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in (start, end]; negative when ``end`` is before ``start``."""
    if end < start:
        return -workdays_between(end, start)
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        count += is_workday(day)
    return count


def end_of_day(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=tz)

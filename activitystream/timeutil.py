"""Timestamps as activitystream keeps them: naive UTC, millisecond precision.

Naive datetimes given by callers are read as UTC; aware ones are converted.
Milliseconds because MongoDB stores no finer, and both backends must agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from babel.dates import TIMEDELTA_UNITS, format_timedelta

from .translation import babel_locale

if TYPE_CHECKING:
    from babel import Locale

# format_timedelta's default: a unit is used from 0.85 of it up
THRESHOLD = 0.85


def to_utc(value: Any, argname: str = 'timestamp') -> datetime:
    """Normalise ``value`` to naive UTC truncated to milliseconds."""
    if not isinstance(value, datetime):
        kind = 'a date without a time' if isinstance(value, date) else type(value).__name__
        raise TypeError(f'{argname} must be a datetime, got {kind}')
    if value.tzinfo is not None:
        try:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # an aware time whose UTC falls before year 1 or after 9999
            raise ValueError(f'{argname} is out of range once converted to UTC') from None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    return to_utc(datetime.now(timezone.utc))


def time_since(
    timestamp: datetime, now: datetime | None = None, locale: Locale | None = None
) -> str:
    """'5 minutes ago', 'vor 5 Minuten', ... in the request's locale, through Babel's CLDR data.

    Every locale Babel knows works, with its own plural rules; a time in the
    future (another server's clock) reads as one second ago. A menu passes
    ``now`` and ``locale`` read once for all its rows (or takes
    :func:`since_function`); the text of each (locale, unit, count) is
    Babel's, asked once per process.
    """
    return _since(timestamp, now or utcnow(), _texts(locale or babel_locale()))


def since_function(now: datetime, locale: Locale) -> Callable[[datetime], str]:
    """``time_since`` at ``now`` in ``locale`` for many rows: the locale is looked up once."""
    return functools.partial(_since, now=now, texts=_texts(locale))


def _since(timestamp: datetime, now: datetime, texts: _AgoTexts) -> str:
    """The text of ``timestamp`` at ``now``, in the unit ``format_timedelta`` would pick."""
    seconds = -min(timestamp - now, -timedelta(seconds=1)).total_seconds()
    for unit, per_unit in TIMEDELTA_UNITS:  # the unit format_timedelta would pick
        value = seconds / per_unit
        if value >= THRESHOLD or unit == 'second':
            return texts[unit, int(round(max(1, value)))]
    raise AssertionError('unreachable: the last unit is the second')


class _AgoTexts(dict[tuple[str, int], str]):
    """Babel's texts of one locale for ``count`` ``unit``s ago, each asked once."""

    def __init__(self, locale: Locale) -> None:
        super().__init__()
        self.locale = locale

    def __missing__(self, key: tuple[str, int]) -> str:
        unit, count = key
        ago = timedelta(seconds=-count * _PER_UNIT[unit])
        # at threshold 1 it keeps exactly that unit
        text = format_timedelta(ago, threshold=1, add_direction=True, locale=self.locale)
        self[key] = text
        return text


_PER_UNIT = dict(TIMEDELTA_UNITS)


@functools.lru_cache(maxsize=64)
def _texts(locale: Locale) -> _AgoTexts:
    """The texts of ``locale``, one dictionary for the process's life."""
    return _AgoTexts(locale)

"""Timestamps as activitystream keeps them: naive UTC, millisecond precision.

Naive datetimes given by callers are read as UTC; aware ones are converted.
Milliseconds because MongoDB stores no finer, and both backends must agree.
"""

from datetime import date, datetime, timedelta, timezone

from .translation import babel_locale


def to_utc(value, argname='timestamp'):
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


def utcnow():
    return to_utc(datetime.now(timezone.utc))


def time_since(timestamp, now=None):
    """'5 minutes ago', 'vor 5 Minuten', ... in the request's locale, through Babel's CLDR data.

    Every locale Babel knows works, with its own plural rules; a time in the
    future (another server's clock) reads as one second ago.
    """
    from babel.dates import format_timedelta

    now = now or utcnow()
    ago = min(timestamp - now, -timedelta(seconds=1))
    return format_timedelta(ago, add_direction=True, locale=babel_locale())

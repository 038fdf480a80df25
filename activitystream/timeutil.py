"""Timestamps as activitystream keeps them: naive UTC, millisecond precision.

Naive datetimes given by callers are read as UTC; aware ones are converted.
Milliseconds because MongoDB stores no finer, and both backends must agree.
"""

from datetime import date, datetime, timezone

from .translation import _, ngettext


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
    """'less than 1 minute ago', 'about 5 minutes ago', ... in the current language."""
    now = now or utcnow()
    minutes = int((now - timestamp).total_seconds() // 60)
    if minutes < 1:
        return _('less than 1 minute ago')
    if minutes < 60:
        return ngettext('about %(num)d minute ago', 'about %(num)d minutes ago', minutes) % {
            'num': minutes
        }
    hours = minutes // 60
    if hours < 24:
        return ngettext('about %(num)d hour ago', 'about %(num)d hours ago', hours) % {'num': hours}
    days = hours // 24
    if days < 30:
        return ngettext('about %(num)d day ago', 'about %(num)d days ago', days) % {'num': days}
    return timestamp.strftime('%Y-%m-%d')

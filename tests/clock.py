"""Test times: recent enough to count as unseen (within the default 30-day window)."""

import datetime as dt


def recent(days=2):
    """A whole minute ``days`` ago, naive UTC."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return (now - dt.timedelta(days=days)).replace(second=0, microsecond=0)

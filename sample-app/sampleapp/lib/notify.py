"""The site's ``activitystream`` subscription backend: activitystream's, dated when asked.

``subscriptions.emit()`` dates what it delivers with the time of the call, and
has no argument to date it otherwise; the demo data (demo_data.py) tells a
story over the last four days, so its comment notifications pass their own
time as the ``timestamp`` keyword, which this backend honours. Everything else
is activitystream's ``ActivityStreamBackend`` unchanged.
"""

from datetime import datetime

from activitystream.subscriptions import backends


class ActivityStreamBackend(backends.ActivityStreamBackend):
    """Stores the notifications, at ``timestamp`` (naive UTC) when the emit gives one."""

    def check(self, timestamp=None, **kwargs):
        if timestamp is not None and not isinstance(timestamp, datetime):
            raise TypeError(f'timestamp must be a datetime, got {type(timestamp).__name__}')
        super().check(**kwargs)

    def emit_many(self, deliveries, timestamp=None, **kwargs):
        if timestamp is not None:
            self.timestamp = timestamp
        return super().emit_many(deliveries, **kwargs)

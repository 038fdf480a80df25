"""Template helpers, available as ``h`` (tgext.pluggable adds ``h.activitystream``)."""

from typing import NamedTuple

from tg import request

from activitystream import am

NAVBAR_NOTIFICATIONS = 10


class Inbox(NamedTuple):
    unseen: int
    latest: list


def inbox():
    """The logged-in user's unseen count and latest notifications, for the navbar."""
    if not request.identity:
        return None
    user = request.identity['user']
    return Inbox(
        am.count_not_seen_by_recipient(user),
        am.get_by_recipient(user).limit(NAVBAR_NOTIFICATIONS).all(),
    )


def when(timestamp):
    """How posts and comments show their (UTC) time."""
    return timestamp.strftime('%Y-%m-%d %H:%M UTC')


def here():
    """The page the user asked for (on error pages, not /error/document)."""
    return (request.environ.get('tg.original_request') or request).path_qs

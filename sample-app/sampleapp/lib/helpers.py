"""Template helpers, available as ``h`` (tgext.pluggable adds ``h.activitystream``)."""

from tg import request


def when(timestamp):
    """How posts and comments show their (UTC) time."""
    return timestamp.strftime('%Y-%m-%d %H:%M UTC')


def grouped_menu():
    """The logged-in user's grouped notifications menu (None: Redis down), see lib/feeds.py."""
    from . import feeds

    return feeds.grouped_menu(request.identity['user'])


def here():
    """The page the user asked for (on error pages, not /error/document)."""
    return (request.environ.get('tg.original_request') or request).path_qs

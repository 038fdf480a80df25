"""Template helpers, available as ``h`` (tgext.pluggable adds ``h.activitystream``)."""

from tg import request


def when(timestamp):
    """How posts and comments show their (UTC) time."""
    return timestamp.strftime('%Y-%m-%d %H:%M UTC')


def here():
    """The page the user asked for (on error pages, not /error/document)."""
    return (request.environ.get('tg.original_request') or request).path_qs

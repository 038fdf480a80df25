"""Template helpers, reachable as ``h.activitystream.*`` in the host's templates."""

from __future__ import annotations

import tg

from . import csrf


def csrf_token() -> str:
    """The logged-in user's CSRF token, for forms and scripts that POST to activitystream."""
    identity = tg.request.identity or {}
    user = identity.get('user')
    return '' if user is None else csrf.token_for(user)

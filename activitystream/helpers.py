"""Template helpers, reachable as ``h.activitystream.*`` in the host's templates."""

import tg

from . import csrf


def csrf_token():
    """The logged-in user's CSRF token, for forms and scripts that POST to activitystream."""
    identity = tg.request.identity or {}
    user = identity.get('user')
    return '' if user is None else csrf.token_for(user)

"""CSRF tokens bound to the logged-in user and to their login, with no server-side session.

A token is ``<issued>.<hmac>``: an HMAC of the user's reference, a mark of the
login it was issued in, and the issue time. Any process holding the secret can
check it; it is worthless for another user, and for the same user once they
have logged out and in again. Its key is derived from the secret for this use
alone, so no token is an HMAC made with the login cookie's own secret.

The login mark comes from TG's ``auth_tkt`` login cookie: the time of its
ticket, which a new login renews. When the cookie is reissued with a new time
(``sa_auth.authtkt.reissue_time``), the first time we saw is kept in the
ticket's user data, so a login keeps one mark until logout. Without such a
cookie (``REMOTE_USER`` set by a front server, another repoze.who identifier)
no login is visible to us: the mark is empty and a token is bound to the user
alone, for ``MAX_AGE``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import tg

from . import refs
from .options import ConfigurationError

HEADER = 'X-CSRF-Token'
FIELD = '_csrf_token'
MAX_AGE = 24 * 3600
PURPOSE = b'activitystream.csrf'
LOGIN_MARK = 'activitystream_login'
SECRET_KEYS = (
    'activitystream.csrf_secret',
    'sa_auth.cookie_secret',
    'session.secret',
    'beaker.session.secret',
)


def derived_key(purpose: bytes = PURPOSE) -> bytes:
    """A key for ``purpose`` alone, derived from the site's secret."""
    for name in SECRET_KEYS:
        value = tg.config.get(name)
        if value:
            return hmac.new(str(value).encode(), purpose, hashlib.sha256).digest()
    raise ConfigurationError(
        'activitystream needs a secret for its CSRF tokens and unsubscribe links: set '
        'activitystream.csrf_secret (or sa_auth.cookie_secret) in your configuration'
    )


def login_mark() -> str:
    """What tells the request's login from the user's other ones ('' when nothing can)."""
    try:
        identity = tg.request.identity or {}
    except TypeError:  # no request: TG's context is not registered for this thread
        return ''
    ticket_time, data = identity.get('timestamp'), identity.get('userdata')
    if not (isinstance(ticket_time, int) and isinstance(data, dict)):
        return ''  # not an auth_tkt login
    if getattr(identity.get('identifier'), 'reissue_time', None):
        # the cookie will come back with a new time: it carries this one on from now
        return data.setdefault(LOGIN_MARK, str(ticket_time))
    return data.get(LOGIN_MARK, str(ticket_time))


def _signature(user: Any, issued: int) -> str:
    ref = refs.ref_of(user, 'user')
    message = json.dumps([ref.type, ref.id, login_mark(), issued]).encode()
    return hmac.new(derived_key(), message, hashlib.sha256).hexdigest()


def token_for(user: Any, now: float | None = None) -> str:
    """A token the given user's page sends back with state-changing requests."""
    issued = int(now if now is not None else time.time())
    return f'{issued}.{_signature(user, issued)}'


def is_valid(user: Any, token: Any, now: float | None = None) -> bool:
    """Whether ``token`` was issued to ``user``, in this login, within the last day."""
    if not isinstance(token, str) or token.count('.') != 1:
        return False
    issued, signature = token.split('.')
    if not (issued.isascii() and issued.isdigit() and signature.isascii()):
        return False
    age = (now if now is not None else time.time()) - int(issued)
    if not 0 <= age <= MAX_AGE:
        return False
    return hmac.compare_digest(signature, _signature(user, int(issued)))

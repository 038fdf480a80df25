"""CSRF tokens bound to the logged-in user, with no server-side session.

A token is ``<issued>.<hmac>``: an HMAC of the user's reference and the issue
time under the application's secret. Any process holding the secret can check
it, and a token taken from one user is worthless for another.
"""

import hashlib
import hmac
import time

import tg

from . import refs
from .options import ConfigurationError

HEADER = 'X-CSRF-Token'
FIELD = '_csrf_token'
MAX_AGE = 24 * 3600
SECRET_KEYS = (
    'activitystream.csrf_secret',
    'sa_auth.cookie_secret',
    'session.secret',
    'beaker.session.secret',
)


def _secret():
    for key in SECRET_KEYS:
        value = tg.config.get(key)
        if value:
            return str(value).encode()
    raise ConfigurationError(
        'activitystream needs a secret for its CSRF tokens: set activitystream.csrf_secret '
        '(or sa_auth.cookie_secret) in your configuration'
    )


def _signature(user, issued):
    ref = refs.ref_of(user, 'user')
    message = f'{ref.type}:{ref.id}:{issued}'.encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()


def token_for(user, now=None):
    """A token the given user's page sends back with state-changing requests."""
    issued = int(now if now is not None else time.time())
    return f'{issued}.{_signature(user, issued)}'


def is_valid(user, token, now=None):
    """Whether ``token`` was issued to ``user`` within the last day."""
    if not isinstance(token, str) or token.count('.') != 1:
        return False
    issued, signature = token.split('.')
    if not issued.isdigit():
        return False
    age = (now if now is not None else time.time()) - int(issued)
    if not 0 <= age <= MAX_AGE:
        return False
    return hmac.compare_digest(signature, _signature(user, int(issued)))

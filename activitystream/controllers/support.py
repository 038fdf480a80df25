"""What every activitystream controller needs: who asks, bad input as 4xx, CSRF."""

import functools

from tg import abort, request

from .. import csrf


def fail(status, message):
    """Stop with ``status`` and a JSON body naming the problem (never an error page)."""
    abort(status, message, passthrough='json')


def current_user():
    """The logged-in user entity; 401 for anonymous requests."""
    identity = request.identity or {}
    user = identity.get('user')
    if user is None:
        fail(401, 'log in first')
    return user


def check_csrf():
    """Stop unless this is a POST carrying the logged-in user's token (header or form)."""
    if request.method != 'POST':
        fail(405, 'use POST')
    user = current_user()
    token = request.headers.get(csrf.HEADER) or request.POST.get(csrf.FIELD)
    if not csrf.is_valid(user, token):
        fail(403, 'missing or invalid CSRF token')


def state_changing(action):
    """Only POST, only with the logged-in user's CSRF token (header or form field)."""

    @functools.wraps(action)
    def checked(*args, **kwargs):
        check_csrf()
        return action(*args, **kwargs)

    return checked


def integer(value, name, minimum, maximum):
    """``value`` as an int in [minimum, maximum]; 400 naming ``name`` otherwise."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        fail(400, f'{name} must be an integer')
    if not minimum <= number <= maximum:
        fail(400, f'{name} must be between {minimum} and {maximum}')
    return number

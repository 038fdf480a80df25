"""What every activitystream controller needs: who asks, bad input as 4xx, CSRF."""

import functools
from urllib.parse import quote, urlsplit

from tg import TGController, abort, request

from .. import csrf
from ..options import TYPE_NAME
from ..storage.base import Ref

DEFAULT_PORTS = {'http': 80, 'https': 443}
_URI_KEEPS = "!#$%&'()*+,/:;=?@[]~"  # reserved ASCII and escapes stay; letters, digits, -._ too


def fail(status, message, headers=None):
    """Stop with ``status`` and a JSON body naming the problem (never an error page)."""
    abort(status, message, headers=headers, passthrough='json')


class Endpoints(TGController):
    """A controller whose parameters are each one piece of text.

    TG passes a repeated parameter as a list and an upload as a file: both are
    a 400 naming the parameter, before any endpoint reads (or writes) anything.
    """

    def _before(self, /, *remainder, **params):
        for name, value in params.items():
            if isinstance(value, list):
                fail(400, f'{name} must be given once')
            if not isinstance(value, str):
                fail(400, f'{name} must be text')


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


def requested_ref(type_, id_):
    """The entity reference a request names by ``type`` and ``id``; 400 when malformed."""
    if not (isinstance(type_, str) and TYPE_NAME.match(type_)):
        fail(400, 'type must be an entity class name')
    if not (isinstance(id_, str) and 0 < len(id_) <= 128):
        fail(400, 'id must be an entity id')
    return Ref(type_, id_)


def same_site(link):
    """``link`` as a URI fit for a Location header, when it stays on this site (a path, or a
    URL on the request's host); else None.

    An IRI's non-ASCII characters (``/docs/日本``) are percent-encoded as UTF-8
    (RFC 3987, 3.1), so the redirect cannot fail after the endpoint has written.
    """
    if not isinstance(link, str) or not link or link != link.strip():
        return None
    if '\\' in link or any(ord(c) < 32 or ord(c) == 127 for c in link):
        return None  # browsers read a backslash as /; control characters split headers
    try:
        parts = urlsplit(link)
        if not (parts.scheme or parts.netloc):
            return None if link.startswith('//') else _as_uri(link)
        if parts.scheme not in DEFAULT_PORTS or parts.username is not None:
            return None
        ours = urlsplit(f'//{request.host}')
        theirs = (parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])
        same = theirs == (ours.hostname, ours.port or DEFAULT_PORTS.get(request.scheme))
    except ValueError:  # a port out of range, a broken IPv6 address...
        return None
    return _as_uri(link) if same else None


def _as_uri(link):
    """``link`` with what a URI cannot hold percent-encoded; None for a lone surrogate."""
    try:
        return quote(link, safe=_URI_KEEPS)
    except UnicodeEncodeError:
        return None


def same_origin_navigation() -> bool:
    """Whether the browser says this request comes from our own pages or its address bar.

    Browsers send ``Sec-Fetch-Site`` and no page can forge it; older ones only
    a ``Referer``, which must then be a URL on this host. Either lets a GET
    from a 0.1.1 template change what only the user's own click may change.
    """
    site = request.headers.get('Sec-Fetch-Site')
    if site is not None:
        return site in ('same-origin', 'none')
    referer = request.headers.get('Referer', '')
    return same_site(referer) is not None and bool(urlsplit(referer).scheme)

"""Signed one-click unsubscribe links (RFC 8058) and the links mails carry.

A link names a recipient and a notification kind and carries an HMAC of both,
made with a key derived from the site's secret for this use alone (as CSRF
tokens are, see ``csrf.derived_key``). It needs no login: whoever holds the
mail may stop that kind's mails, and nothing else. A digest's link names
every kind (``preferences.EVERY_KIND``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urljoin

import tg
from tgext.pluggable.utils import mount_point

from . import refs
from .csrf import derived_key
from .storage.base import Ref

PURPOSE = b'activitystream.unsubscribe'
PATH = '/mail/unsubscribe'
SETTINGS_PATH = '/settings'
ONE_CLICK = 'List-Unsubscribe=One-Click'


def signature(ref: Ref, kind: str) -> str:
    """The HMAC of (recipient, kind) an unsubscribe link carries."""
    message = json.dumps([ref.type, ref.id, kind]).encode()
    return hmac.new(derived_key(PURPOSE), message, hashlib.sha256).hexdigest()


def is_valid(ref: Ref, kind: str, given: Any) -> bool:
    """Whether ``given`` is the signature of (``ref``, ``kind``)."""
    return (
        isinstance(given, str)
        and given.isascii()
        and hmac.compare_digest(given, signature(ref, kind))
    )


def site_url(path: str) -> str | None:
    """The absolute URL of our ``path`` from ``activitystream.site_url``, or None without it."""
    site = tg.config.get('activitystream.site_url')
    return urljoin(site, mount_point('activitystream') + path) if site else None


def link(recipient: Any, kind: str) -> str | None:
    """The unsubscribe URL of ``recipient`` for ``kind`` (None without a site URL)."""
    ref = refs.ref_of(recipient, 'recipient')
    base = site_url(PATH)
    if base is None:
        return None
    query = urlencode(dict(type=ref.type, id=ref.id, kind=kind, sig=signature(ref, kind)))
    return f'{base}?{query}'


def headers(mail: Message, recipient: Any, kind: str) -> str | None:
    """Add RFC 8058's ``List-Unsubscribe`` headers to ``mail``; return the link (or None)."""
    url = link(recipient, kind)
    if url is not None:
        mail['List-Unsubscribe'] = f'<{url}>'
        mail['List-Unsubscribe-Post'] = ONE_CLICK
    return url

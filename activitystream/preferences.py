"""Who gets which kind of notification by which channel.

A notification has a *kind*: the verb, or the ``kind=`` given to
``am.create`` or ``subscriptions.emit``. The host declares kinds with a label
and default channels (the ``notification_kinds`` plug option); each
recipient may override them, per kind::

    from activitystream import preferences

    preferences.get(user)                      # {'commented': ['web', 'email'], ...}
    preferences.set(user, 'commented', ['web', 'digest'])   # [] turns it off
    preferences.set_digest_period(user, 'weekly')

Channels: ``web`` (the notification menu: the ``activitystream`` backend and
``am.create``), ``email`` (a mail per notification: the ``email`` backend) and
``digest`` (held for the daily or weekly digest, see ``activitystream.digest``).
A kind nobody declared goes to ``web`` and ``email``, as before kinds existed,
minus what a recipient unsubscribed from by mail.
Delivery reads the preferences of a whole page of recipients in one query.
"""

from collections.abc import Iterable, Sequence

from . import checks, model, refs
from .options import CHANNELS, PERIODS, channels_problem, kind_problem
from .storage.base import Ref
from .timeutil import utcnow

#: what a kind nobody declared goes to
UNDECLARED = ('web', 'email')
#: the stored "kind" holding a recipient's digest period
PERIOD_KIND = '*digest'
#: the unsubscribe link of a digest, which covers every kind
EVERY_KIND = '*'


def kinds() -> dict[str, dict]:
    """The declared kinds: {kind: {'label': ..., 'channels': (...)}}, in declaration order."""
    return model.options()['notification_kinds']


def checked_kind(kind, argname: str = 'kind') -> str:
    """``kind`` when it can be a notification kind; TypeError/ValueError naming ``argname``."""
    checks.text(kind, argname)
    problem = kind_problem(kind)
    if problem:
        raise ValueError(f'{argname} {problem}')
    return kind


def defaults(kind: str) -> tuple[str, ...]:
    """The channels of ``kind`` for a recipient who chose nothing."""
    declared = kinds().get(kind)
    return UNDECLARED if declared is None else declared['channels']


def _parse(stored: str) -> tuple[str, ...]:
    given = stored.split(',') if stored else ()
    return tuple(c for c in CHANNELS if c in given)


def _joined(channels: Iterable[str]) -> str:
    given = list(channels)  # this module's ``set`` is the API's
    return ','.join(c for c in CHANNELS if c in given)


def get(user) -> dict[str, list[str]]:
    """{kind: channels} of ``user`` for every declared kind (its choice, else the default)."""
    ref = refs.ref_of(user, 'user')
    stored = model.storage().preferences(ref)
    return {
        kind: list(_parse(stored[kind]) if kind in stored else spec['channels'])
        for kind, spec in kinds().items()
    }


def set(user, kind: str, channels: Iterable[str]) -> list[str]:  # noqa: A001 - the issue's name
    """Store the channels of ``user`` for the declared ``kind`` ([] or None: off); return them."""
    ref = refs.ref_of(user, 'user')
    checked_kind(kind)
    if kind not in kinds():
        known = ', '.join(map(repr, kinds())) or 'none (see the notification_kinds option)'
        raise ValueError(f'kind {kind!r} is not declared; declared kinds: {known}')
    channels = [] if channels is None else channels
    problem = channels_problem(channels)
    if problem:
        raise ValueError(f'channels {problem}')
    stored = _joined(channels)
    model.storage().set_preference(ref, kind, stored, utcnow())
    return list(_parse(stored))


def digest_period(user) -> str:
    """``'daily'`` or ``'weekly'``: when ``user`` gets its digest (default: the option)."""
    ref = refs.ref_of(user, 'user')
    stored = model.storage().preferences_of(PERIOD_KIND, [ref]).get(ref)
    return stored or model.options()['digest_period']


def set_digest_period(user, period: str) -> str:
    """Send the digests of ``user`` ``'daily'`` or ``'weekly'``."""
    ref = refs.ref_of(user, 'user')
    if period not in PERIODS:
        raise ValueError(f'period must be one of {", ".join(PERIODS)}, got {period!r}')
    model.storage().set_preference(ref, PERIOD_KIND, period, utcnow())
    return period


def periods_of(storage, recipients: Sequence[Ref]) -> dict[Ref, str]:
    """{recipient: digest period} for a page of recipients: one query."""
    stored = storage.preferences_of(PERIOD_KIND, recipients)
    default = model.options()['digest_period']
    return {r: stored.get(r, default) for r in recipients}


def channels_for(storage, kind: str, recipients: Sequence[Ref], wanted: Iterable[str]):
    """{recipient: channels} of ``kind`` for a page of recipients: one query (or none).

    None when nothing can differ from the defaults for the ``wanted``
    channels: an undeclared kind can only have lost ``email`` (by an
    unsubscribe link), so a page delivering to ``web`` alone needs no query.
    """
    if kind not in kinds() and not {'email', 'digest'} & frozenset(wanted):
        return None
    stored = storage.preferences_of(kind, recipients) if recipients else {}
    default = defaults(kind)
    return {r: _parse(stored[r]) if r in stored else default for r in recipients}


def without_email(user, kind: str) -> None:
    """Turn the e-mail of ``kind`` off for ``user`` (``EVERY_KIND``: of every declared kind).

    What an unsubscribe link does: ``email`` and ``digest`` go, ``web`` stays.
    Kinds nobody declared are stored too: their mails stop as well.
    """
    ref = refs.ref_of(user, 'user')
    storage, now = model.storage(), utcnow()
    chosen = list(kinds()) if kind == EVERY_KIND else [checked_kind(kind)]
    stored = storage.preferences(ref)
    for name in chosen:
        current = _parse(stored[name]) if name in stored else defaults(name)
        storage.set_preference(ref, name, _joined(c for c in current if c == 'web'), now)

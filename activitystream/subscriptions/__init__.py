"""Subscriptions and delivery backends: subscribe to anything, emit to its subscribers.

As django-subscription argues, subscribing and notifying are one thing::

    from activitystream import subscriptions

    subscriptions.subscribe(user, post)           # any mapped entity to any other
    subscriptions.emit('{actor} commented on your post', subscribers_of=post,
                       actor=commenter, dont_send_to=commenter, verb='commented on')

``emit()`` formats the text for each recipient and hands it to the backends
of the ``subscription_backends`` plug option (see ``subscriptions.backends``).
Subscribing to a user is following that user.
"""

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from string import Formatter
from typing import Any

from .. import checks, model, preferences, refs
from ..delivery import DrainReport, drain, enqueue
from ..delivery.runner import backoff
from ..formats import iso
from ..storage.base import Backend, NewJob, Ref
from ..timeutil import to_utc, utcnow
from .backends import BaseBackend, configured_backends
from .backends.actions import DEFAULT_VERB
from .backends.redis_lists import acknowledge, user_stream
from .delivery import (
    DIGEST,
    FailedDelivery,
    allowed,
    checked_limit,
    deliver_job_for,
    encode_kwargs,
    failed_deliveries,
    ref_list,
    run,
)
from .query import EntityQuery

__all__ = [
    'BaseBackend',
    'FailedDelivery',
    'acknowledge',
    'emit',
    'failed_deliveries',
    'is_subscribed',
    'retry_failed',
    'subscribe',
    'subscribed_to',
    'subscribers_of',
    'subscriptions_of',
    'unsubscribe',
    'user_stream',
]


def subscribe(subscriber: Any, obj: Any) -> bool:
    """Subscribe ``subscriber`` to ``obj``; True if new, False if it already was (a no-op)."""
    pair = refs.ref_of(subscriber, 'subscriber', flush=True), refs.ref_of(obj, 'obj', flush=True)
    new = model.storage().subscribe(*pair, utcnow())
    manager = model.options().get('feed_manager')
    if new and manager is not None:  # a follow: the followed user's actions into the feeds
        manager.followed(*pair)
    return new


def unsubscribe(subscriber: Any, obj: Any) -> bool:
    """Unsubscribe ``subscriber`` from ``obj``; False (a no-op) if it was not subscribed."""
    pair = refs.ref_of(subscriber, 'subscriber'), refs.ref_of(obj, 'obj')
    gone = model.storage().unsubscribe(*pair)
    manager = model.options().get('feed_manager')
    if gone and manager is not None:
        manager.unfollowed(*pair)
    return gone


def is_subscribed(subscriber: Any, obj: Any) -> bool:
    """Whether ``subscriber`` is subscribed to ``obj``."""
    ref = refs.ref_of(obj, 'obj')
    return bool(model.storage().subscribed(refs.ref_of(subscriber, 'subscriber'), [ref]))


def subscribed_to(subscriber: Any, objs: Iterable[Any]) -> list[Any]:
    """Of ``objs``, those ``subscriber`` is subscribed to, in one query (for pages of toggles)."""
    who = refs.ref_of(subscriber, 'subscriber')
    given = {refs.ref_of(o, f'objs[{i}]'): o for i, o in enumerate(objs)}
    found = model.storage().subscribed(who, list(given))
    return [o for ref, o in given.items() if ref in found]


def subscribers_of(obj: Any) -> EntityQuery:
    """The subscribers of ``obj``, newest first, as a lazy query (``.limit(n).all()``...)."""
    ref = refs.ref_of(obj, 'obj')
    storage = model.storage()
    return EntityQuery(
        storage,
        lambda limit, offset: storage.subscribers(ref, limit, offset),
        lambda: storage.subscriber_count(ref),
    )


def subscriptions_of(subscriber: Any) -> EntityQuery:
    """The objects ``subscriber`` is subscribed to, newest first, as a lazy query."""
    ref = refs.ref_of(subscriber, 'subscriber')
    storage = model.storage()
    return EntityQuery(
        storage,
        lambda limit, offset: storage.subscriptions(ref, limit, offset),
        lambda: storage.subscription_count(ref),
    )


def retry_failed(limit: int | None = None) -> DrainReport:
    """Deliver again, now, what failed: dead letters and deliveries waiting out their backoff.

    Then drains the outbox (at most ``limit`` jobs) in this process and
    returns the ``DrainReport``. For scripts and ``gearbox activitystream-retry``:
    it commits.
    """
    limit = checked_limit(limit)
    storage, now = model.storage(), utcnow()
    storage.revive_jobs(None, now)
    storage.hasten_jobs(None, now)
    storage.commit()
    return drain(limit)


def _chosen_backends(backends: Iterable[str] | None) -> dict[str, type[BaseBackend]]:
    configured = configured_backends()
    if backends is None:
        return configured
    if isinstance(backends, (str, bytes, Mapping)) or not hasattr(backends, '__iter__'):
        raise TypeError(f'backends must be a list of backend names, got {backends!r}')
    chosen = {}
    for index, name in enumerate(backends):
        if name not in configured:
            known = ', '.join(configured) or 'none'
            raise ValueError(f'backends[{index}] {name!r} is not configured (configured: {known})')
        chosen[name] = configured[name]
    return chosen


def _formatted(text: str, values: Mapping[str, Any]) -> str:
    try:
        return Formatter().vformat(text, (), values)
    except KeyError as exc:
        raise ValueError(
            f'text uses {{{exc.args[0]}}}, which format_kwargs does not give'
        ) from None
    except IndexError:
        raise ValueError('text has positional fields ({} or {0}): name them instead') from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f'text cannot be formatted with format_kwargs: {exc}') from None


def _check_keywords(backends: list[BaseBackend], kwargs: Mapping[str, Any]) -> None:
    """A keyword no chosen backend takes is a mistake (``verbe=``), unless one takes any."""
    declared = [b.accepts for b in backends]
    if not backends or any(taken is None for taken in declared):
        return
    known: set[str] = set().union(*(taken for taken in declared if taken is not None))
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(
            f'emit() got an unexpected keyword argument {unknown[0]!r}; '
            f'the chosen backends take {", ".join(sorted(known)) or "none"}'
        )


def _recipients(
    storage: Backend,
    subscribers: list[Ref] | None,
    only: list[Ref] | None,
    only_entities: list[Any] | None,
    excluded: list[Ref] | None,
) -> list[tuple[Ref, Any]]:
    """[(Ref, entity)] to deliver to, of ``subscribers`` (None: exactly ``only``).

    One query for their entities (``refs.resolve``).
    """
    left_out = set(excluded or ())
    if subscribers is None:  # emit() has made sure there is send_only_to then
        assert only is not None and only_entities is not None
        return [(r, e) for r, e in zip(only, only_entities, strict=True) if r not in left_out]
    given = {} if only is None else dict(zip(only, only_entities or (), strict=True))
    wanted = [r for r in subscribers if r not in left_out and (only is None or r in given)]
    loaded = refs.resolve(storage, [r for r in wanted if r not in given])
    found = [(r, given[r] if r in given else loaded[r]) for r in wanted]
    return [(r, e) for r, e in found if e is not None]


def emit(
    text: str,
    subscribers_of: Any = None,
    dont_send_to: Any = None,
    send_only_to: Any = None,
    actor: Any = None,
    actor_display_self: str = 'You',
    actor_display_other: str | None = None,
    format_kwargs: Mapping[str, Any] | None = None,
    backends: Iterable[str] | None = None,
    timestamp: datetime | None = None,
    kind: str | None = None,
    **kwargs: Any,
) -> None:
    """Send ``text`` to the subscribers of ``subscribers_of`` through the configured backends.

    Recipients: the subscribers of ``subscribers_of``, minus ``dont_send_to``
    (an entity or a list), restricted to ``send_only_to`` when given; with no
    ``subscribers_of``, exactly ``send_only_to``. ``text`` is formatted for each
    recipient with ``string.Formatter`` from ``format_kwargs`` plus ``actor``:
    ``actor_display_self`` for the recipient who is the actor,
    ``actor_display_other`` (default: the actor as ``refs.display`` shows it)
    for everyone else; write ``{{`` and ``}}`` for literal braces.
    ``backends`` names some of the configured backends (default: all);
    ``timestamp`` dates what they store (default now; for back-fills);
    ``kind`` names the notification's kind (default: the ``verb`` keyword, else
    ``'notified'``), whose preferences decide who gets it by which channel
    (see ``activitystream.preferences``);
    ``kwargs`` reach each backend's ``emit`` untouched.

    Keyword values must be JSON-able or entities: they wait in the outbox.

    Nothing is sent from here: one ``emit`` job goes to the outbox (see
    ``activitystream.delivery``) with the caller's transaction, and a runner
    expands the audience page by page after the commit. Backends that write
    to the database (``deferred = False``, the ``activitystream`` backend)
    still deliver at once, inside the caller's transaction, while the
    audience has at most ``emit_inline_limit`` recipients, so the next page
    shows the notifications. Bad arguments raise TypeError/ValueError naming
    them, before anything is written. A failing backend is logged and what
    it failed is tried again later; it stops neither the other backends nor
    the caller.
    """
    text = checks.text(text, 'text')
    obj_ref = (
        None
        if subscribers_of is None
        else refs.ref_of(subscribers_of, 'subscribers_of', flush=True)
    )
    actor_ref = None if actor is None else refs.ref_of(actor, 'actor', flush=True)
    excluded, _ = refs.ref_list(dont_send_to, 'dont_send_to', flush=True)
    only, only_entities = refs.ref_list(send_only_to, 'send_only_to', flush=True)
    if obj_ref is None and only is None:
        raise ValueError('emit() needs subscribers_of or send_only_to')
    checks.text(actor_display_self, 'actor_display_self')
    checks.text(actor_display_other, 'actor_display_other', optional=True)
    if format_kwargs is not None and not isinstance(format_kwargs, Mapping):
        raise TypeError(f'format_kwargs must be a dict, got {type(format_kwargs).__name__}')
    values = dict(format_kwargs or {})
    texts = {}
    for is_actor in (False, True):  # each recipient gets one of these, never a shared dict
        if actor is not None:
            other = refs.display(actor) if actor_display_other is None else actor_display_other
            values['actor'] = actor_display_self if is_actor else other
        texts[is_actor] = checks.text(_formatted(text, values), 'text, once formatted,')
    storage = model.storage()  # before the options: says so when nothing is plugged
    now = utcnow() if timestamp is None else to_utc(timestamp, 'timestamp')
    chosen = [
        cls(name, actor, subscribers_of, now) for name, cls in _chosen_backends(backends).items()
    ]
    _check_keywords(chosen, kwargs)
    for backend in chosen:
        backend.check(**kwargs)
    if kind is None:
        kind = kwargs.get('verb', DEFAULT_VERB)
        kind = preferences.checked_kind(kind, 'verb' if 'verb' in kwargs else 'kind')
    else:
        kind = preferences.checked_kind(kind)
    for backend in chosen:
        backend.kind = kind
    payload = dict(
        texts=[texts[False], texts[True]],
        actor=actor_ref and [actor_ref.type, actor_ref.id],
        obj=obj_ref and [obj_ref.type, obj_ref.id],
        exclude=ref_list(excluded or ()),
        only=None if only is None else ref_list(only),
        kwargs=encode_kwargs(kwargs),
        timestamp=iso(now),
        root=uuid.uuid4().hex,  # names this emit's jobs and deliveries, for good
        kind=kind,
    )
    at_once = [b for b in chosen if not b.deferred]
    small, subscribers = _small_audience(storage, obj_ref, only) if at_once else (False, None)
    if small:
        later = [b.name for b in chosen if b.deferred]
    else:
        later, at_once = [b.name for b in chosen], []
    if kind in preferences.kinds() and any(b.channel == 'email' for b in chosen):
        later.append(DIGEST)  # recipients may have chosen a digest instead of mails
    queued = enqueue([NewJob('emit', dict(payload, backends=later))] if later else [])
    if at_once:
        audience = (subscribers, only, only_entities, excluded)
        _deliver_now(storage, at_once, payload, audience, texts, kwargs)
    queued.ready()


def _small_audience(
    storage: Backend, obj_ref: Ref | None, only: list[Ref] | None
) -> tuple[bool, list[Ref] | None]:
    """(whether the audience has at most ``emit_inline_limit`` recipients, its subscribers).

    The subscribers are None with no ``subscribers_of`` (the audience is ``only``)
    or when there are too many: then the runner expands them, a page at a time.
    """
    limit = model.options()['emit_inline_limit']
    if obj_ref is None:
        assert only is not None  # emit() needs subscribers_of or send_only_to
        return len(only) <= limit, None
    found = storage.subscribers(obj_ref, limit + 1, 0)
    return (True, found) if len(found) <= limit else (False, None)


def _deliver_now(
    storage: Backend,
    backends: list[BaseBackend],
    payload: dict[str, Any],
    audience: tuple[Any, Any, Any, Any],
    texts: dict[bool, str],
    kwargs: dict[str, Any],
) -> None:
    """Backends that write to the database (notifications), inside the caller's transaction.

    What fails is queued for a later retry.
    """
    recipients = _recipients(storage, *audience)
    actor = payload['actor'] and refs.Ref(*payload['actor'])
    wanted = {b.channel for b in backends if b.channel is not None}
    page = [ref for ref, _ in recipients]
    channels = preferences.channels_for(storage, payload['kind'], page, wanted) if wanted else None
    failed, errors = {}, []
    for backend in backends:
        assert backend.name is not None  # emit() names every backend it makes
        deliveries = [
            (entity, texts[ref == actor])
            for ref, entity in recipients
            if allowed(backend.channel, channels, ref)
        ]
        lost = run(backend, deliveries, kwargs)
        if lost:
            failed[backend.name] = [refs.ref_of(r, 'recipient') for r, _, _ in lost]
            errors.append(f'{backend.name}: {type(lost[0][2]).__name__}: {lost[0][2]}')
    if failed:
        options = model.options()
        when = utcnow() + backoff(1, options['delivery_backoff'])
        enqueue([deliver_job_for(payload, failed, when=when, error='; '.join(errors))]).ready()

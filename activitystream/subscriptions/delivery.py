"""Running backends over deliveries, keeping what failed, and delivering it again.

A delivery is a (recipient, text) pair. A backend that raises, for one
recipient or for all, is logged and its failed deliveries are kept (in the
storage's failed-deliveries table/collection); the other backends and the
stored notifications are not affected. ``retry_failed()`` (and the
``gearbox activitystream-retry`` command) delivers each kept one again, once.
"""

import json
import logging
from dataclasses import dataclass

from .. import model, refs
from ..query import _non_negative
from ..storage.base import FailedDelivery, Ref

log = logging.getLogger('activitystream.subscriptions')

REF_KEY = '$ref'
JSON_TYPES = (str, int, float, bool, list, tuple, dict, type(None))
RETRY_BATCH = 100


def encode_kwargs(kwargs):
    """``emit()``'s keyword arguments as JSON text, entities as ``{"$ref": [type, id]}``."""

    def entity(value):
        try:
            ref = refs.ref_of(value, 'kwargs')
        except (TypeError, ValueError):
            raise TypeError(f'{type(value).__name__} is neither JSON nor an entity') from None
        return {REF_KEY: [ref.type, ref.id]}

    return json.dumps(kwargs, default=entity, sort_keys=True)


def decode_kwargs(text):
    """What :func:`encode_kwargs` wrote, with Refs where entities were."""
    return json.loads(text, object_hook=lambda d: Ref(*d[REF_KEY]) if set(d) == {REF_KEY} else d)


def checked_limit(limit):
    """``limit`` when it is None or a non-negative integer; TypeError/ValueError otherwise."""
    return None if limit is None else _non_negative(limit, 'limit')


@dataclass(frozen=True)
class Context:
    """What a failed delivery needs besides its recipient and text to be made again."""

    actor: Ref | None
    obj: Ref | None
    kwargs: dict


def run(backend, deliveries, kwargs):
    """Deliver through ``backend``; return the failures as (recipient, text, error)."""
    if not deliveries:
        return []
    try:
        failed = backend.emit_many(deliveries, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a backend's failure stays its own
        failed = [(recipient, text, exc) for recipient, text in deliveries]
    if failed:
        log.error(
            '%s backend failed to deliver %d of %d messages; kept for activitystream-retry',
            backend.name,
            len(failed),
            len(deliveries),
            exc_info=failed[0][2],
        )
    return failed


def keep(storage, backend, failed, context, attempts=1):
    """Store ``failed`` deliveries of ``backend`` for the retry command."""
    if not failed:
        return
    try:
        kwargs = encode_kwargs(context.kwargs)
    except (TypeError, ValueError) as exc:
        log.error('%s backend: %d failed deliveries not kept: %s', backend.name, len(failed), exc)
        return
    storage.add_failures(
        [
            FailedDelivery(
                backend=backend.name,
                recipient=refs.ref_of(recipient, 'recipient'),
                text=text,
                actor=context.actor,
                obj=context.obj,
                kwargs=kwargs,
                error=f'{type(error).__name__}: {error}',
                emitted_at=backend.timestamp,
                attempts=attempts,
            )
            for recipient, text, error in failed
        ]
    )


def _as_refs(kwargs):
    """``kwargs`` with its entities as Refs: they outlive the session that loaded them."""
    found = {}
    for key, value in kwargs.items():
        try:
            found[key] = value if isinstance(value, JSON_TYPES) else refs.ref_of(value, key)
        except (TypeError, ValueError):
            found[key] = value  # not an entity: encode_kwargs says so if it must be kept
    return found


def _entities(kwargs, entity):
    """``kwargs`` with its Refs loaded again through ``entity(ref)``."""
    return {k: entity(v) if isinstance(v, Ref) else v for k, v in kwargs.items()}


def deliver(storage, backends, deliveries, context):
    """Deliver through every backend: at once, or after the commit for deferred ones."""
    for backend in backends:
        if not backend.deferred:
            keep(storage, backend, run(backend, deliveries, context.kwargs), context)
    deferred = [b for b in backends if b.deferred]
    if not (deferred and deliveries):
        return
    by_ref = [(refs.ref_of(r, 'recipient'), text) for r, text in deliveries]
    kept = Context(context.actor, context.obj, _as_refs(context.kwargs))

    def after_commit(own):
        if own is storage:  # no transaction (Ming): the caller's entities are still good
            for backend in deferred:
                keep(own, backend, run(backend, deliveries, context.kwargs), kept)
            return
        # the caller's session is closed by now: load the entities again in ``own``
        wanted = {kept.actor, kept.obj} | {r for r, _ in by_ref}
        loaded = refs.resolve(own, wanted | {v for v in kept.kwargs.values() if isinstance(v, Ref)})
        fresh = [(loaded[r], text) for r, text in by_ref if loaded[r] is not None]
        kwargs = _entities(kept.kwargs, loaded.get)
        for backend in deferred:
            again = type(backend)(
                backend.name, loaded.get(kept.actor), loaded.get(kept.obj), backend.timestamp
            )
            keep(own, again, run(again, fresh, kwargs), kept)

    storage.after_commit(after_commit)


@dataclass
class RetryReport:
    """What a retry run did: delivered, failed again (kept), dropped (recipient gone)."""

    delivered: int = 0
    failed: int = 0
    dropped: int = 0


def retry_failed(limit=None):
    """Deliver the kept failed deliveries again, oldest first, each once; commit as it goes.

    Each is claimed (deleted) and committed before it is delivered, so two
    runs never deliver one twice; one that fails again is kept anew, with one
    more attempt counted. Meant for scripts and the ``activitystream-retry``
    command, not for requests: it commits the session.
    """
    storage = model.storage()
    configured = model.options()['subscription_backends']
    report = RetryReport()
    pending = storage.failures(checked_limit(limit))
    for start in range(0, len(pending), RETRY_BATCH):
        batch = pending[start : start + RETRY_BATCH]
        claimed = storage.claim_failures([f.id for f in batch])
        storage.commit()
        _retry_batch(storage, configured, [f for f in batch if f.id in claimed], report)
        storage.commit()
    return report


def _retry_batch(storage, configured, batch, report):
    contexts = {f.id: Context(f.actor, f.obj, decode_kwargs(f.kwargs)) for f in batch}
    wanted = {r for f in batch for r in (f.recipient, f.actor, f.obj)}
    wanted |= {v for c in contexts.values() for v in c.kwargs.values() if isinstance(v, Ref)}
    entity = refs.resolve(storage, wanted).get
    for failure in batch:
        context = contexts[failure.id]
        recipient = entity(failure.recipient)
        cls = configured.get(failure.backend)
        if recipient is None or cls is None:
            why = 'recipient is gone' if recipient is None else 'backend is not configured'
            log.warning('dropped a failed %s delivery: its %s', failure.backend, why)
            report.dropped += 1
            continue
        backend = cls(
            failure.backend, entity(failure.actor), entity(failure.obj), failure.emitted_at
        )
        failed = run(backend, [(recipient, failure.text)], _entities(context.kwargs, entity))
        keep(storage, backend, failed, context, failure.attempts + 1)
        report.failed += len(failed)
        report.delivered += 1 - len(failed)

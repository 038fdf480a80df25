"""emit()'s work in the outbox: the audience expanded page by page, each page delivered.

An ``emit`` job holds the audience (``subscribers_of``, ``dont_send_to``,
``send_only_to``), the two texts (the actor's and everyone else's), the
backends and their keyword arguments. Each step reads one keyset page of
subscribers, queues a ``deliver`` job for it and queues the next step, so
memory stays one page whatever the audience, and a step replayed after a
crash queues nothing twice (job keys). A ``deliver`` job runs its backends
for its page and keeps, for the retry, only the (backend, recipient) pairs
that failed. On SQL what its backends write commits with the job's end; on
MongoDB, where it is written at once, the job records each backend done
(:func:`_checkpoint`) so a job done again after a crash does not repeat it.
"""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from .. import model, preferences, refs
from ..delivery.runner import LeaseLost, Retry
from ..query import _non_negative
from ..storage.base import NewDigestItem, NewJob, Ref
from ..timeutil import to_utc, utcnow
from .backends import configured_backends

log = logging.getLogger('activitystream.subscriptions')

REF_KEY = '$ref'
#: the pending "backend" of a deliver job that holds notifications for digests
DIGEST = '*digest'
JSON_TYPES = (str, int, float, bool, list, tuple, dict, type(None))


def encode_kwargs(kwargs):
    """``emit()``'s keyword arguments as JSON text, entities as ``{"$ref": [type, id]}``."""

    def entity(value):
        try:
            ref = refs.ref_of(value, 'kwargs', flush=True)
        except (TypeError, ValueError):
            raise TypeError(
                f'emit() keyword values must be JSON-able or entities, got {type(value).__name__}'
            ) from None
        return {REF_KEY: [ref.type, ref.id]}

    return json.dumps(kwargs, default=entity, sort_keys=True, allow_nan=False)


def decode_kwargs(text):
    """What :func:`encode_kwargs` wrote, with Refs where entities were."""
    return json.loads(text, object_hook=lambda d: Ref(*d[REF_KEY]) if set(d) == {REF_KEY} else d)


def checked_limit(limit):
    """``limit`` when it is None or a non-negative integer; TypeError/ValueError otherwise."""
    return None if limit is None else _non_negative(limit, 'limit')


def ref_list(found):
    """Refs as JSON: [[type, id], ...]."""
    return [[r.type, r.id] for r in found]


def _refs(rows):
    return [Ref(*row) for row in rows or ()]


def _ref(row):
    return None if row is None else Ref(*row)


def _when(payload):
    """The emit's time, naive UTC as backends get it."""
    return to_utc(datetime.fromisoformat(payload['timestamp']))


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
            '%s backend failed to deliver %d of %d messages; they are tried again later',
            backend.name,
            len(failed),
            len(deliveries),
            exc_info=failed[0][2],
        )
    return failed


def _entities(kwargs, entity):
    """``kwargs`` with its Refs loaded again through ``entity(ref)``."""
    return {k: entity(v) if isinstance(v, Ref) else v for k, v in kwargs.items()}


def deliver_job_for(payload, pending, root=None, step=0, when=None, error=None):
    """A ``deliver`` job of ``payload``'s message for ``pending`` ({backend: [Ref]})."""
    fields = {k: payload[k] for k in ('texts', 'actor', 'obj', 'kwargs', 'timestamp')}
    fields.update(kind=payload.get('kind'))
    fields.update(pending={name: ref_list(rs) for name, rs in pending.items()})
    fields.update(root=root or uuid.uuid4().hex, step=step)
    key = None if root is None else f'emit:{root}:{step}'
    return NewJob('deliver', fields, key=key, available_at=when, error=error)


def emit_job(storage, job):
    """One step of an ``emit`` job: a page of the audience becomes a ``deliver`` job."""
    payload, size = job.payload, model.options()['emit_page_size']
    root, step = payload['root'], payload.get('step', 0)
    excluded = set(_refs(payload['exclude']))
    only = None if payload['only'] is None else _refs(payload['only'])
    after = None
    if payload['obj'] is None:  # exactly send_only_to
        if only is None:  # emit() wants subscribers_of or send_only_to: a job made elsewhere
            raise ValueError(f'emit job {job.id} has neither obj nor only')
        page = only[step * size : (step + 1) * size]
        more = (step + 1) * size < len(only)
    else:
        found = storage.subscriber_page(_ref(payload['obj']), payload.get('after'), size)
        page, more = [r for r, _ in found], len(found) == size
        after = found[-1][1] if found else None
    allowed = None if only is None else set(only)
    recipients = [r for r in page if r not in excluded and (allowed is None or r in allowed)]
    jobs = []
    if recipients:
        pending = {name: recipients for name in payload['backends']}
        jobs.append(deliver_job_for(payload, pending, root, step))
    if more:
        following = dict(payload, root=root, step=step + 1, after=after)
        jobs.append(NewJob('emit', following, key=f'emit:{root}:{step + 1}:next'))
    storage.add_jobs(jobs, utcnow(), ready=True)


def _checkpoint(storage, job, rest):
    """No transaction (MongoDB): the job keeps only ``rest``, so a replay skips what is done.

    What a backend wrote is then written once, unless the worker dies
    between that write and this one.
    """
    pending = {name: ref_list(rs) for name, rs in rest.items()}
    if not storage.checkpoint_job(job.id, job.owner, dict(job.payload, pending=pending)):
        raise LeaseLost(job.id)


def deliver_job(storage, job):
    """A ``deliver`` job: its backends for its recipients; what failed is tried again."""
    payload = job.payload
    configured = configured_backends()
    actor, obj = _ref(payload['actor']), _ref(payload['obj'])
    kwargs = decode_kwargs(payload['kwargs'])
    pending = {name: _refs(rows) for name, rows in payload['pending'].items()}
    wanted = {actor, obj} | {r for rs in pending.values() for r in rs}
    wanted |= {v for v in kwargs.values() if isinstance(v, Ref)}
    entity = refs.resolve(storage, wanted - {None}).get
    when = _when(payload)
    texts = payload['texts']
    kind = payload.get('kind')
    channels = _channels(storage, kind, pending, configured)
    left, errors, names = {}, [], list(pending)
    for index, name in enumerate(names):
        cls = configured.get(name)
        channel = 'digest' if name == DIGEST else cls and cls.channel
        recipients = [r for r in pending[name] if allowed(channel, channels, r)]
        if name == DIGEST:
            _hold(storage, kind, payload, kwargs, recipients)
            continue
        if cls is None:
            log.warning('dropped %d %s deliveries: no such backend now', len(recipients), name)
            continue
        backend = cls(name, entity(actor), entity(obj), when)
        backend.delivery_key = f'{payload["root"]}.{payload["step"]}'
        backend.kind = kind
        deliveries = [
            (found, texts[ref == actor])
            for ref in recipients
            if (found := entity(ref)) is not None  # a recipient deleted since is dropped
        ]
        failed = run(backend, deliveries, _entities(kwargs, entity))
        if failed:
            left[name] = [refs.ref_of(r, 'recipient') for r, _, _ in failed]
            error = failed[0][2]
            errors.append(
                f'{name}: {len(failed)} of {len(deliveries)} failed, '
                f'{type(error).__name__}: {error}'
            )
        if not storage.transactional and index + 1 < len(names):
            _checkpoint(storage, job, {**left, **{n: pending[n] for n in names[index + 1 :]}})
    if not left:
        return None
    pending = {name: ref_list(rs) for name, rs in left.items()}
    return Retry('; '.join(errors), dict(payload, pending=pending))


def allowed(channel, channels, ref) -> bool:
    """Whether ``ref`` takes ``channel`` (None: a backend that serves everyone)."""
    return channel is None or channels is None or channel in channels[ref]


def _channels(storage, kind, pending, configured):
    """{recipient: channels} of the job's page: one query, or None (nothing to filter)."""
    if kind is None:  # queued before kinds existed
        return None
    wanted = {'digest' if n == DIGEST else getattr(configured.get(n), 'channel', None)
              for n in pending}  # fmt: skip
    channels = {c for c in wanted if c is not None}
    if not channels:
        return None
    page = sorted({r for rs in pending.values() for r in rs})
    return preferences.channels_for(storage, kind, page, channels)


def _hold(storage, kind, payload, kwargs, recipients):
    """Hold the message for the digests of ``recipients`` (one bulk write)."""
    actor, obj = _ref(payload['actor']), _ref(payload['obj'])
    verb = kwargs.get('verb') if isinstance(kwargs.get('verb'), str) else kind
    texts, when = payload['texts'], _when(payload)
    items = [
        NewDigestItem(r, kind, verb, actor, obj, texts[r == actor], when)
        for r in recipients
        if r != actor  # nobody gets a digest of their own doing
    ]
    storage.add_digest_items(items, utcnow())


@dataclass
class FailedDelivery:
    """A message a backend failed to deliver and that waits for its retry (or is dead).

    Read from the outbox by :func:`failed_deliveries`; ``id`` is its job's.
    """

    backend: str
    recipient: Ref
    text: str
    actor: Ref | None
    obj: Ref | None
    kwargs: str
    error: str
    emitted_at: datetime
    attempts: int
    dead: bool
    id: object


def failed_deliveries(limit=None):
    """Deliveries that failed and wait for a retry or are dead letters, oldest first."""
    limit = checked_limit(limit)
    found = []
    for job in model.storage().jobs(None, None, kind='deliver', failed=True):
        error = job.error
        p = job.payload
        for name, rows in p['pending'].items():
            for recipient in _refs(rows):
                found.append(
                    FailedDelivery(
                        backend=name,
                        recipient=recipient,
                        text=p['texts'][recipient == _ref(p['actor'])],
                        actor=_ref(p['actor']),
                        obj=_ref(p['obj']),
                        kwargs=p['kwargs'],
                        error=error,
                        emitted_at=_when(p),
                        attempts=job.attempts,
                        dead=job.dead,
                        id=job.id,
                    )
                )
                if limit is not None and len(found) >= limit:
                    return found
    return found

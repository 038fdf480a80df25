"""Digests: one mail per recipient and period with the notifications held for it.

Notifications of a kind a recipient sends to its ``digest`` channel are held
(see ``activitystream.preferences``). A periodic job, ``gearbox
activitystream-digest -c site.ini [--period daily|weekly]`` or the Celery beat
task ``activitystream.digest`` (:mod:`activitystream.delivery.celery`), calls
:func:`run`: it queues a ``digest`` outbox job for every recipient of that
period holding items, then drains the outbox. Each job groups the recipient's
items (same verb and target, as the menu does) into one mail.

Never two digests for one period: a job's outbox key names the recipient, the
period and the period's key (``2024-05-03``, ``2024-W18``), and a *mark* per
recipient and period remembers the last key sent, checked before sending and
moved after. Delivery stays at-least-once: a worker that dies between sending
and moving the mark sends again, with the same ``Message-ID``.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from . import model, preferences, refs, unsubscribe
from .delivery import DrainReport, drain
from .formats import iso
from .options import PERIODS
from .storage.base import Backend, DigestItem, Job, NewJob, Ref
from .subscriptions.backends import mail
from .timeutil import to_utc, utcnow
from .translation import _, ngettext

#: recipients read per scheduling step
PAGE = 200
#: what a group shows at most: texts, actor names
SHOWN = 3


def period_key(period: str, when: datetime) -> str:
    """The key of the ``period`` holding ``when``: ``2024-05-03`` or ``2024-W18``."""
    if period == 'daily':
        return when.strftime('%Y-%m-%d')
    year, week, _ = when.isocalendar()
    return f'{year}-W{week:02d}'


def _checked_period(period: str | None) -> str:
    if period is None:
        return model.options()['digest_period']
    if period not in PERIODS:
        raise ValueError(f'period must be one of {", ".join(PERIODS)}, got {period!r}')
    return period


def schedule(period: str | None = None, now: datetime | None = None) -> int:
    """Queue the ``period`` digests due now (default period: the option); how many were queued.

    A page of recipients costs three queries (who holds items, their periods,
    their marks) and one write; running it twice in a period queues nothing new.
    """
    period, now = _checked_period(period), now or utcnow()
    key, after, queued = period_key(period, now), None, 0
    while True:
        with model.unit_of_work() as storage:
            page = storage.digest_recipients(after, now, PAGE)
            if not page:
                return queued
            periods = preferences.periods_of(storage, page)
            mine = [r for r in page if periods[r] == period]
            marks = storage.digest_marks(mine, period)
            jobs = [
                NewJob(
                    'digest',
                    dict(recipient=[r.type, r.id], period=period, key=key, until=iso(now)),
                    key=f'digest:{r.type}:{r.id}:{period}:{key}',
                )
                for r in mine
                if marks.get(r) != key
            ]
            queued += len(storage.add_jobs(jobs, utcnow(), ready=True))
        after = page[-1]


def run(period: str | None = None, now: datetime | None = None) -> tuple[int, DrainReport]:
    """:func:`schedule`, then drain the outbox here: (queued, the drain's report)."""
    queued = schedule(period, now)
    return queued, drain()


def _groups(items: Sequence[DigestItem], entity: Callable[[Ref], Any]) -> list[dict[str, Any]]:
    """The items grouped by (verb, target), the latest group first."""
    groups: dict[tuple[str, Ref | None], list[DigestItem]] = {}
    for item in items:
        groups.setdefault((item.verb, item.target), []).append(item)
    shown: list[dict[str, Any]] = []
    for (verb, target), members in groups.items():
        actors = list(dict.fromkeys(refs.display(entity(i.actor)) for i in members if i.actor))
        found = entity(target) if target else None
        title = verb if found is None else f'{verb} {refs.display(found)}'
        shown.append(
            dict(
                title=title,
                count_text=f' ({len(members)})',
                verb=verb,
                target=None if found is None else refs.display(found),
                link=mail.absolute_link(found),
                count=len(members),
                actors=actors[:SHOWN],
                more_actors=max(0, len(actors) - SHOWN),
                texts=[i.text for i in reversed(members)][:SHOWN],
                latest=members[-1].timestamp,
            )
        )
    return sorted(shown, key=lambda g: g['latest'], reverse=True)


def _subject(configured: str | None, period: str, count: int) -> str:
    """The host's ``digest_subject``, else ours in the default language (``i18n.lang``)."""
    if configured is not None:
        return configured.format(count=count, period=period)
    if period == 'weekly':
        text = ngettext(
            'Your weekly digest: {count} notification',
            'Your weekly digest: {count} notifications',
            count,
        )
    else:
        text = ngettext(
            'Your daily digest: {count} notification',
            'Your daily digest: {count} notifications',
            count,
        )
    return text.format(count=count)


def message(
    recipient: Any, items: Sequence[DigestItem], period: str, key: str
) -> EmailMessage | None:
    """The digest mail of ``items`` for ``recipient`` (an entity), or None without an address."""
    options = model.options()
    address = getattr(recipient, options['email_address_attribute'], None)
    if not address:
        return None
    storage = model.storage()
    wanted = {r for i in items for r in (i.actor, i.target) if r is not None}
    entity = refs.resolve(storage, wanted).get
    subject = _subject(options['digest_subject'], period, len(items))
    context = dict(
        subject=subject,
        period=period,
        count=len(items),
        groups=_groups(items, entity),
        recipient=recipient,
        settings=unsubscribe.site_url(unsubscribe.SETTINGS_PATH),
        settings_label=_(mail.SETTINGS_LABEL),
    )
    ref = refs.ref_of(recipient, 'recipient')
    message_id = mail.stable_message_id(f'digest.{period}.{key}.{ref.type}.{ref.id}')
    renderers = mail.templates(options['email_renderer'], options['digest_template'])
    composed = mail.compose(address, subject, message_id, renderers, context)
    unsubscribe.headers(composed, recipient, preferences.EVERY_KIND)
    return composed


def digest_job(storage: Backend, job: Job) -> None:
    """One recipient's digest of one period: send it unless its mark says it went."""
    payload = job.payload
    ref, period, key = Ref(*payload['recipient']), payload['period'], payload['key']
    previous = storage.digest_marks([ref], period).get(ref)
    if previous == key:
        return None  # sent already (this job ran to the end once, or a twin did)
    until = to_utc(datetime.fromisoformat(payload['until']), 'until')  # iso() wrote it aware
    items = storage.digest_items(ref, until, model.options()['digest_max_items'])
    recipient = refs.resolve(storage, [ref])[ref]
    composed = None if recipient is None or not items else message(recipient, items, period, key)
    if composed is not None:
        failed = mail.send([(ref, composed)])
        if failed:
            raise failed[0][1]  # the runner gives the job back for a retry
    storage.advance_digest_mark(ref, period, key, previous, utcnow())
    storage.delete_digest_items([i.id for i in items])
    return None

"""The outbox: work that must follow a commit, written with it, done by a runner.

Whatever must happen after the host's transaction commits (e-mails, Redis
lists, live pushes, subscription fan-out) is written as *jobs* in that same
transaction (see :func:`enqueue`): a rolled-back request leaves none, and a
process that dies after its commit leaves jobs that the next drain does.

A runner (the ``delivery_runner`` plug option) drains the outbox: it claims
jobs with a lease, does each in a transaction of its own that also deletes
it, and gives failed ones back with an exponential backoff, up to
``delivery_max_attempts``, after which they stay as dead letters for
``gearbox activitystream-outbox``. Delivery is at-least-once: a job whose
worker died is done again once its lease ends, so every effect outside the
database is made safe to repeat (stable mail ``Message-ID``, idempotent
Redis writes).
"""

from .queue import Queued, enqueue
from .runner import DrainReport, drain, kick, stop_workers

__all__ = ['DrainReport', 'Queued', 'drain', 'enqueue', 'kick', 'stop_workers']

"""Queueing outbox work from the code that causes it: a request, a script or another job."""

from collections.abc import Sequence

from .. import model
from ..storage.base import Backend, NewJob
from ..timeutil import utcnow


class Queued:
    """Jobs just written; :meth:`ready` releases them once the caller's own writes are done.

    On SQL the jobs commit with the caller's transaction and are ready at
    once. MongoDB has no such transaction: the jobs are written first, not
    ready, and made ready after what causes them, so a crash in between
    leaves nothing half-sent.
    """

    def __init__(self, storage: Backend, ids: list) -> None:
        self._storage = storage
        self.ids = ids

    def ready(self) -> None:
        """Release the jobs: ready on MongoDB, and the runner woken after the commit."""
        if not self.ids:
            return
        if not self._storage.transactional:
            self._storage.mark_jobs_ready(self.ids)
        if not model.in_unit_of_work():  # a runner drains on by itself
            from .runner import kick

            self._storage.after_commit(kick)


def enqueue(jobs: Sequence[NewJob]) -> Queued:
    """Write ``jobs`` with the caller's other writes; call ``.ready()`` once those are written."""
    storage = model.storage()
    ids = storage.add_jobs(list(jobs), utcnow(), ready=storage.transactional) if jobs else []
    return Queued(storage, ids)

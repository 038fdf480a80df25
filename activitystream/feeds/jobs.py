"""Feed work in the outbox: what the delivery runner does for a FeedManager.

A ``fanout`` job writes the actor's own feeds (one round trip), then queues
one ``feed`` job per chunk of followers, each in its priority's queue. A
``feed`` job writes one chunk (one round trip), copies a followed user's
actions into a follower's feeds (``follow``/``unfollow``), or drops an
erased user's feeds (``erased``). Payloads are JSON:
the manager by its ``module:Class`` path, user ids, feed names, entries.
Every job can run twice and leave the same feeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fanout import FanoutChunk
from .manager import FeedManager, load_class

if TYPE_CHECKING:
    from ..storage.base import Backend, Job


def manager_of(payload: dict) -> FeedManager:
    """The manager a job names: the site's configured one if it is of that class."""
    from .. import model

    configured = model.options().get('feed_manager')
    if configured is not None and configured.path() == payload['manager']:
        return configured
    cls = load_class(payload['manager'])
    if not (isinstance(cls, type) and issubclass(cls, FeedManager)):
        raise TypeError(f'{payload["manager"]!r} is not a FeedManager')
    return cls()


def fanout_job(storage: Backend, job: Job) -> None:
    """The actor's own feeds, then a ``feed`` job per chunk of followers."""
    manager = manager_of(job.payload)
    own = FanoutChunk.from_payload(job.payload['chunk'])
    manager.run_chunk(own)
    manager.fan_out(storage, own, job.payload['root'])


def feed_job(storage: Backend, job: Job) -> None:
    """One chunk of followers' feeds, or a follow's copy (or an unfollow's removal)."""
    payload = job.payload
    manager = manager_of(payload)
    if 'follow' in payload:
        manager.copy_follow(*payload['follow'])
    elif 'unfollow' in payload:
        manager.uncopy_follow(*payload['unfollow'])
    elif 'erased' in payload:
        manager.drop_feeds(payload['erased'])
    else:
        manager.run_chunk(FanoutChunk.from_payload(payload['chunk']), payload['if_built'])

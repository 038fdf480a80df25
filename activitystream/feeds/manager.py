"""FeedManager: a user's activity into their own feed and, fanned out, their followers'.

As in Stream Framework's seed, a subclass names its feeds and may say who
follows whom::

    class PinManager(FeedManager):
        feed_classes = dict(normal=PinFeed)
        user_feed_class = UserPinFeed

By default the followers of a user are its subscribers in our subscriptions
store (``subscriptions.subscribe(follower, user)``). Writes are outbox jobs
(:mod:`.jobs`), written with the host's transaction and done by the delivery
runner after the commit, so a rolled-back action never reaches a feed and
a dead process loses nothing. A ``fanout`` job writes the actor's own feeds,
then cuts the followers into chunks of ``fanout_chunk_size``, each a
``feed`` job of its priority's queue and one Redis round trip.

Two rules keep the work bounded, as Twitter and Mastodon do: an actor with
more than ``fanout_threshold`` followers is not fanned out to, its recent
actions are merged into its followers' feeds when they read them; and a
reader who has not read for ``inactive_days`` gets no fan-out, its feeds are
written again from the database on its next read. Feeds are a cache: one
Redis lost (or never had) is written again the same way.
"""

from __future__ import annotations

import importlib
import itertools
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from .. import model, refs
from ..action import Action
from ..delivery import enqueue
from ..redis_client import client
from ..storage.base import ActionRecord, NewAction, NewJob, OutboxStorage, Ref
from ..timeutil import utcnow
from .entries import Entry, entry_of, member_of
from .fanout import FanoutChunk, FanoutPriority
from .notify import NOTIFICATION_FEED, notification_jobs, rebuild_notifications
from .rebuild import newest_entries
from .redis_feed import RedisFeed, feed_user_id, key_types
from .scripts import execute

USER_FEED = '@user'  # a chunk's name for the user feed (feed_classes names are identifiers)


class UserFeed(RedisFeed):
    """What a user did: the source that follows copy from."""

    key_format = 'feed:user:%(user_id)s'


class TimelineFeed(RedisFeed):
    """What the people a user follows did, and the user's own actions."""

    key_format = 'feed:normal:%(user_id)s'


class FeedManager:
    """Fan-out of users' activities to the feeds of their followers."""

    #: name -> the feed class of each feed a user reads
    feed_classes: dict[str, type[RedisFeed]] = {'normal': TimelineFeed}
    #: the feed of what a user did
    user_feed_class: type[RedisFeed] = UserFeed
    #: the feed of what a user is notified of (actions with recipients, see
    #: :mod:`.notify`), say a NotificationRedisFeed; None: none is kept
    notification_feed_class: type[RedisFeed] | None = None
    #: the class name users are stored under in references (subscriptions, actors)
    user_type = 'User'
    #: followers written per Redis round trip
    fanout_chunk_size = 1000
    #: how many of the followed user's recent actions a follow copies
    follow_activity_limit = 1000
    #: actors with more followers are merged when read, not fanned out (None:
    #: the ``feeds_fanout_threshold`` plug option; 0: always fan out)
    fanout_threshold: int | None = None
    #: readers who did not read for this many days get no fan-out (None: the
    #: ``feeds_inactive_days`` plug option; 0: readers never turn inactive)
    inactive_days: int | None = None
    #: at most this many followed actors are merged into a read (a bounded merge)
    pull_limit = 100
    #: fan-out chunk jobs written per insert while a fan-out is expanded
    jobs_per_write = 10

    @classmethod
    def path(cls) -> str:
        """``module:Class``, how outbox jobs name the manager for the worker that does them."""
        path = f'{cls.__module__}:{cls.__qualname__}'
        if load_class(path) is not cls:
            raise TypeError(
                f'{cls.__qualname__} must be defined at module level: workers import it by name'
            )
        return path

    def _option(self, attribute: str, option: str) -> int:
        value = getattr(self, attribute)
        return model.options()[option] if value is None else value

    def _ttl(self) -> int | None:
        """Seconds a reader stays active after a read (None: for ever)."""
        days = self._option('inactive_days', 'feeds_inactive_days')
        return days * 86400 if days else None

    def _redis(self) -> Any:
        return client(model.options()['redis_url'])

    # -- users and feeds ---------------------------------------------------

    def user_id(self, user: Any, argname: str = 'user_id') -> str:
        """The feed id of ``user``: its primary key, the user entity or its Ref."""
        if isinstance(user, key_types()) and not isinstance(user, bool):
            return feed_user_id(user, argname)
        ref = refs.ref_of(user, argname)
        if ref.type != self.user_type:
            raise ValueError(f'{argname} is a {ref.type}, not a {self.user_type} (user_type)')
        return feed_user_id(ref.id, argname)

    def user_ref(self, user: Any) -> Ref:
        """The stored reference of ``user`` (as the subscriptions store and actions hold it)."""
        return Ref(self.user_type, self.user_id(user))

    def get_user_feed(self, user_id: Any) -> RedisFeed:
        """The feed of what ``user_id`` did (written again from the database if Redis lost it)."""
        user_id = self.user_id(user_id)
        feed = self.user_feed_class(user_id)
        self._rebuild_lost([(user_id, feed)])
        return feed

    def get_feeds(self, user_id: Any) -> dict[str, RedisFeed]:
        """{name: feed} of the feeds ``user_id`` reads: the read keeps the reader active.

        Feeds Redis lost, or never had, or let go while the reader was away,
        are written again from the database first. The recent actions of
        followed actors too big to fan out are merged in when a feed is read.
        """
        user_id = self.user_id(user_id)
        feeds = {name: cls(user_id) for name, cls in self.feed_classes.items()}
        pairs = [(user_id, feed) for feed in feeds.values()]
        pipe = self._redis().pipeline(transaction=False)
        self._queue_touch(pipe, pairs)
        pipe.scard(self._pulled_key())  # any actor merged when read, in the same round trip
        *touched, pulling = pipe.execute()
        self._rebuild(self._lost(pairs, touched))
        pulled = self._pulled_feeds(user_id) if pulling else ()
        for feed in feeds.values():
            feed.pulled = pulled
        return feeds

    def get_notification_feed(self, user_id: Any) -> RedisFeed:
        """The notification feed of ``user_id`` (written again from its deliveries if lost).

        The read keeps the reader active, as ``get_feeds`` does.
        """
        if self.notification_feed_class is None:
            raise TypeError(f'{type(self).__name__} has no notification_feed_class')
        user_id = self.user_id(user_id)
        feed = self.notification_feed_class(user_id)
        self._rebuild_lost([(user_id, feed)])
        return feed

    def get_user_follower_ids(self, user_id: str) -> dict[FanoutPriority, Iterable[Any]]:
        """{FanoutPriority: ids} of the followers of ``user_id``: by default its subscribers.

        Override it to read follows from elsewhere, or to split followers by
        priority; any iterable of ids will do.
        """
        return {FanoutPriority.HIGH: self._subscriber_ids(user_id)}

    def get_user_following_ids(self, user_id: str) -> Iterable[Any]:
        """The ids of the users ``user_id`` follows: by default those it is subscribed to.

        Feeds are written again from it; override it with ``get_user_follower_ids``.
        """
        ref = self.user_ref(user_id)
        found = model.storage().subscriptions(ref, None, 0)
        return [r.id for r in found if r.type == self.user_type]

    def _subscriber_ids(self, user_id: str) -> Iterator[str]:
        """The users subscribed to ``user_id``, read a chunk at a time."""
        storage, ref, after = model.storage(), self.user_ref(user_id), None
        while True:
            page = storage.subscriber_page(ref, after, self.fanout_chunk_size)
            yield from (r.id for r, _ in page if r.type == self.user_type)
            if len(page) < self.fanout_chunk_size:
                return
            after = page[-1][1]

    def follower_count(self, user_id: str) -> int:
        """How many follow ``user_id``: by default its subscribers. Override it with
        ``get_user_follower_ids``; it decides whether the user is fanned out to."""
        return model.storage().subscriber_count(self.user_ref(user_id))

    # -- fan-out -----------------------------------------------------------

    def fanout_chunks(
        self, user_id: Any, add: Iterable[Entry] = (), remove: Iterable[str] = ()
    ) -> Iterator[FanoutChunk]:
        """The chunks writing ``add`` (entries) and ``remove`` (members) to the followers' feeds.

        HIGH priority first; the user's own feeds are not among them. Made
        one at a time as followers are read: memory stays one chunk.
        """
        user_id = self.user_id(user_id)
        by_priority = self.get_user_follower_ids(user_id)
        if not isinstance(by_priority, dict):
            raise TypeError('get_user_follower_ids() must return {FanoutPriority: ids}')
        unknown = set(by_priority) - set(FanoutPriority)  # 'high' is FanoutPriority.HIGH
        if unknown:
            raise ValueError(f'get_user_follower_ids() gave an unknown priority: {unknown.pop()!r}')
        done, names = {user_id}, tuple(self.feed_classes)
        for priority in FanoutPriority:
            ids = by_priority.get(priority, ())
            for part in self._chunked(self._new_ids(ids, done)):
                yield FanoutChunk(part, names, tuple(add), tuple(remove), priority)

    def _new_ids(self, ids: Iterable[Any], done: set[str]) -> Iterator[str]:
        for index, user_id in enumerate(ids):
            user_id = feed_user_id(user_id, f'follower ids[{index}]')
            if user_id not in done:
                done.add(user_id)
                yield user_id

    def _chunked(self, ids: Iterator[str]) -> Iterator[tuple[str, ...]]:
        while part := tuple(itertools.islice(ids, self.fanout_chunk_size)):
            yield part

    def _feed_class(self, name: str) -> type[RedisFeed]:
        if name == USER_FEED:
            return self.user_feed_class
        if name == NOTIFICATION_FEED and self.notification_feed_class is not None:
            return self.notification_feed_class
        try:
            return self.feed_classes[name]
        except KeyError:
            raise ValueError(f'{name!r} is not one of the feed_classes') from None

    def run_chunk(self, chunk: FanoutChunk, if_built: bool = False) -> None:
        """Write one chunk: one Redis round trip, and the same feeds if run again.

        ``if_built``: only to the feeds of active readers (see ``inactive_days``).
        """
        if not (chunk.add or chunk.remove) or not chunk.user_ids:
            return
        classes = [self._feed_class(name) for name in chunk.feeds]
        options = model.options()  # once: read per feed, it was a tenth of a chunk's time

        def build(pipe: Any) -> None:
            for user_id in chunk.user_ids:
                for cls in classes:
                    feed = cls(user_id, options=options)
                    if chunk.remove:
                        feed.queue_remove(pipe, chunk.remove)
                    if chunk.add:
                        feed.queue_add(pipe, chunk.add, if_built=if_built)

        scripts = list(dict.fromkeys(s for cls in classes for s in cls.scripts))
        execute(self._redis(), build, scripts)

    def _own_chunk(
        self, user_id: str, add: Iterable[Entry] = (), remove: Iterable[str] = ()
    ) -> FanoutChunk:
        """The user feed and the user's own feeds: they show the user's actions too."""
        return FanoutChunk((user_id,), (USER_FEED, *self.feed_classes), tuple(add), tuple(remove))

    def _fanout_job(
        self, user_id: str, add: Iterable[Entry] = (), remove: Iterable[str] = ()
    ) -> NewJob:
        """The job writing the user's own feeds, then fanning out to its followers."""
        chunk = self._own_chunk(user_id, add, remove)
        payload = {'manager': self.path(), 'chunk': chunk.to_payload(), 'root': uuid.uuid4().hex}
        return NewJob('fanout', payload)

    def fan_out(self, storage: OutboxStorage, own: FanoutChunk, root: str) -> int:
        """Queue the ``feed`` jobs of the followers of ``own``'s user; return how many.

        Each job's key is unique to (``root``, chunk): a fan-out done again
        after a crash queues nothing twice. Adds skip an actor too big to
        fan out (its followers merge it when they read) and inactive readers;
        an actor back under the threshold pushes what its followers merged
        until now (its own feed) with its new actions: they stop merging it.
        """
        (user_id,) = own.user_ids
        add = own.add
        if add:
            pulled, was_pulled = self._pulls(user_id)
            if pulled:
                return 0
            if was_pulled:  # the new actions are in its own feed already: once each
                known = {e.member: e for e in self.user_feed_class(user_id).entries(0, None)}
                add = tuple(sorted({**known, **{e.member: e for e in add}}.values()))
        chunks = self.fanout_chunks(user_id, add, own.remove)
        queued, path = 0, self.path()
        while part := list(itertools.islice(chunks, self.jobs_per_write)):
            jobs = [
                NewJob(
                    'feed',
                    {
                        'manager': path,
                        'chunk': chunk.to_payload(),
                        'if_built': bool(own.add),
                    },
                    key=f'feed:{root}:{queued + n}',
                    priority=chunk.priority.value,
                )
                for n, chunk in enumerate(part)
            ]
            storage.add_jobs(jobs, utcnow(), ready=True)
            queued += len(jobs)
        return queued

    def _pulled_key(self) -> str:
        pattern = self.user_feed_class.key_format % {'user_id': '*'}
        return f'{model.options()["redis_prefix"]}:{{pulled}}:{pattern}'

    def _pulls(self, user_id: str) -> tuple[bool, bool]:
        """Whether readers merge ``user_id``'s actions (too many followers to fan out to),
        and whether they did until now.

        Kept in a Redis set the reads look at, updated at each of its fan-outs.
        """
        threshold = self._option('fanout_threshold', 'feeds_fanout_threshold')
        pulled = bool(threshold) and self.follower_count(user_id) > threshold
        redis = self._redis()
        changed = (redis.sadd if pulled else redis.srem)(self._pulled_key(), user_id)
        return pulled, bool(changed) != pulled

    def _pulled_feeds(self, user_id: str) -> tuple[RedisFeed, ...]:
        """The user feeds of the followed actors that are merged when read (``pull_limit``)."""
        redis, key = self._redis(), self._pulled_key()
        following = list(dict.fromkeys(self._following(user_id)))
        if not following:
            return ()
        flags = redis.smismember(key, following)
        chosen = [f for f, pulled in zip(following, flags, strict=True) if pulled]
        chosen = chosen[: self.pull_limit]
        feeds = [(f, self.user_feed_class(f)) for f in chosen]
        self._rebuild_lost(feeds)
        return tuple(feed for _, feed in feeds)

    def _following(self, user_id: str) -> Iterator[str]:
        for index, followed in enumerate(self.get_user_following_ids(user_id)):
            yield feed_user_id(followed, f'following ids[{index}]')

    # -- the database is the truth -----------------------------------------

    def rebuild_feeds(self, user_id: Any) -> None:
        """Write the user feed and the feeds of ``user_id`` again from the database.

        What they hold stays (writes are merges), trimmed to ``max_length``.
        """
        user_id = self.user_id(user_id)
        self._rebuild([(user_id, feed) for feed in self._all_feeds(user_id)])

    def _all_feeds(self, user_id: str) -> list[RedisFeed]:
        """The user feed, the feeds the user reads and its notification feed (if any)."""
        classes = [self.user_feed_class, *self.feed_classes.values()]
        if self.notification_feed_class is not None:
            classes.append(self.notification_feed_class)
        return [cls(user_id) for cls in classes]

    def _rebuild_lost(self, feeds: list[tuple[str, RedisFeed]]) -> None:
        """Rebuild those of ``feeds`` never built, lost by Redis, or let go; keep the others.

        One round trip to know, which also keeps their readers active for
        ``inactive_days`` more (their keys expire after that).
        """
        pipe = self._redis().pipeline(transaction=False)
        self._queue_touch(pipe, feeds)
        self._rebuild(self._lost(feeds, pipe.execute()))

    def _queue_touch(self, pipe: Any, feeds: list[tuple[str, RedisFeed]]) -> None:
        ttl = self._ttl()
        for _, feed in feeds:
            if ttl:
                pipe.expire(feed.built_key, ttl)
                pipe.expire(feed.key, ttl)
            else:
                pipe.exists(feed.built_key)

    def _lost(
        self, feeds: list[tuple[str, RedisFeed]], replies: list[Any]
    ) -> list[tuple[str, RedisFeed]]:
        """Those of ``feeds`` whose built marker was gone, from ``_queue_touch``'s replies."""
        built = replies[::2] if self._ttl() else replies
        return [pair for pair, found in zip(feeds, built, strict=True) if not found]

    def _rebuild(self, feeds: list[tuple[str, RedisFeed]]) -> None:
        """A user feed: its user's public actions; the others: the followed users' too.

        The feeds are marked built first, so fan-outs of actions committed
        while the database is read are written to them too. The read has a
        transaction of its own: what the caller has not committed yet (and
        may roll back) is not written to a feed.
        """
        if not feeds:
            return
        ttl = self._ttl()
        redis = self._redis()
        pipe = redis.pipeline(transaction=False)
        for _, feed in feeds:
            pipe.set(feed.built_key, 1, ex=ttl)
        pipe.execute()
        groups: dict[tuple[str, bool], list[RedisFeed]] = {}
        inboxes = []  # notification feeds: the actions delivered to their users
        for user_id, feed in feeds:  # a user feed holds the user's own actions only
            if self._is_notification_feed(feed):
                inboxes.append((self.user_ref(user_id), feed))
                continue
            groups.setdefault((user_id, type(feed) is self.user_feed_class), []).append(feed)
        writes = []
        with model.unit_of_work() as storage:
            rebuild_notifications(storage, redis, inboxes)
            for (user_id, own), chosen in groups.items():
                actors = [self.user_ref(user_id)]
                if not own:
                    actors += [Ref(self.user_type, f) for f in self._following(user_id)]
                length = max(feed.max_length for feed in chosen)
                entries = newest_entries(storage, dict.fromkeys(actors), length)
                writes += [(feed, entries) for feed in chosen]

        def build(pipe: Any) -> None:
            for feed, entries in writes:
                feed.queue_add(pipe, entries)
            for feed in [feed for _, feed in inboxes] + [feed for feed, _ in writes] if ttl else ():
                pipe.expire(feed.key, ttl)

        execute(redis, build, list(dict.fromkeys(s for feed, _ in writes for s in feed.scripts)))

    def _is_notification_feed(self, feed: RedisFeed) -> bool:
        cls = self.notification_feed_class
        return cls is not None and type(feed) is cls

    # -- the seed's API ----------------------------------------------------

    def _checked_action(self, user_id: str, action: Any) -> Action:
        if not isinstance(action, Action):
            raise TypeError(f'action must be an Action, got {type(action).__name__}')
        if not action.public:
            raise ValueError(f'action {action.id} is not public: feeds show it to every follower')
        if action.actor_ref != Ref(self.user_type, user_id):
            raise ValueError(f'action {action.id} was not done by user {user_id}')
        return action

    def add_user_activity(self, user_id: Any, action: Action) -> None:
        """Add ``action`` (a public one done by ``user_id``) to its feeds and its followers'.

        Queued in the outbox with the caller's transaction: written after the commit.
        """
        user_id = self.user_id(user_id)
        entry = entry_of(self._checked_action(user_id, action))
        enqueue([self._fanout_job(user_id, add=(entry,))]).ready()

    # -- the site's hooks (plug option feed_manager) -----------------------

    def actions_created(self, created: Iterable[tuple[Any, NewAction]]) -> None:
        """``am.create``: queue the fan-out of the public actions done by users.

        ``created`` gives (action id, NewAction) pairs; others are left out.
        With a ``notification_feed_class``, actions with recipients (private
        ones too, broadcasts not) go to the recipients' notification feeds.
        """
        jobs, notified = [], []
        for id_, new in created:
            entry = entry_of(record_of(id_, new))
            if new.public and new.actor.type == self.user_type:
                jobs.append(self._fanout_job(feed_user_id(new.actor.id), add=(entry,)))
            if new.recipients and self.notification_feed_class is not None:
                notified.append((entry, new.recipients))
        jobs += notification_jobs(self, notified)
        enqueue(jobs).ready()

    def followed(self, follower: Ref, followed: Ref) -> None:
        """``subscriptions.subscribe``: a user subscribing to a user follows it."""
        if follower.type == followed.type == self.user_type:
            self.follow_user(follower.id, followed.id)

    def unfollowed(self, follower: Ref, followed: Ref) -> None:
        """``subscriptions.unsubscribe``: a user unsubscribing from a user unfollows it."""
        if follower.type == followed.type == self.user_type:
            self.unfollow_user(follower.id, followed.id)

    def remove_user_activity(self, user_id: Any, action: Any) -> None:
        """Take ``action`` (an Action or its id) out of the user's feeds and its followers'.

        For an action deleted from the database (or no longer public): feeds
        written again from the database show what it still holds.
        """
        user_id = self.user_id(user_id)
        try:
            action_id = model.storage().action_id(getattr(action, 'id', action))
        except ValueError:
            raise ValueError(f'action is not an action or an action id: {action!r}') from None
        enqueue([self._fanout_job(user_id, remove=(member_of(action_id),))]).ready()

    def actions_deleted(self, records: Iterable[ActionRecord], followers_now: bool = False) -> None:
        """``am.delete``/``erase``/``purge``: queue the deleted actions' removal from the feeds.

        One ``fanout`` job per actor, which reads the followers when it runs;
        with ``followers_now`` (an erasure, whose subscriptions go in this
        transaction) the followers are read now, into ``feed`` jobs. Called
        before their deliveries go: the recipients' notification feeds lose
        them too.
        """
        records = list(records)
        if self.notification_feed_class is not None:
            private = [record.id for record in records if not record.broadcast]
            delivered = model.storage().recipients_of(private) if private else {}
            gone = [(member_of(id_), recipients) for id_, recipients in delivered.items()]
            enqueue(list(notification_jobs(self, gone, remove=True))).ready()
        members: dict[str, list[str]] = {}
        for record in records:
            if record.public and record.actor.type == self.user_type:
                user_id = feed_user_id(record.actor.id)
                members.setdefault(user_id, []).append(member_of(record.id))
        for user_id, left in members.items():
            if not followers_now:
                enqueue([self._fanout_job(user_id, remove=left)]).ready()
                continue
            chunks = itertools.chain(
                [self._own_chunk(user_id, remove=left)], self.fanout_chunks(user_id, remove=left)
            )
            path = self.path()
            while part := list(itertools.islice(chunks, self.jobs_per_write)):
                jobs = [
                    NewJob('feed', {'manager': path, 'chunk': c.to_payload(), 'if_built': False},
                           priority=c.priority.value)
                    for c in part
                ]  # fmt: skip
                enqueue(jobs).ready()

    def actions_dismissed(self, recipient: Ref, action_ids: Iterable[Any]) -> None:
        """``am.dismiss``: queue the actions' removal from ``recipient``'s notification feed.

        Only that feed: the recipient's timelines show what it follows, which a
        dismissed notification does not change.
        """
        if self.notification_feed_class is not None:
            gone = [(member_of(id_), [recipient]) for id_ in action_ids]
            enqueue(list(notification_jobs(self, gone, remove=True))).ready()

    def user_erased(self, ref: Ref) -> None:
        """``am.erase``: queue the drop of an erased user's feeds, done once the erasure commits.

        Through the outbox: never if the erasure rolls back, again later if Redis is down.
        """
        if ref.type == self.user_type:
            payload = {'manager': self.path(), 'erased': feed_user_id(ref.id)}
            enqueue([NewJob('feed', payload)]).ready()

    def drop_feeds(self, user_id: str) -> None:
        """An ``erased`` job: every key of every feed of the user, gone (one round trip)."""
        pipe = self._redis().pipeline(transaction=False)
        for feed in self._all_feeds(user_id):  # one key per command: keys of several slots
            for key in feed.all_keys():
                pipe.delete(key)
        pipe.execute()

    def follow_user(self, user_id: Any, target_user_id: Any) -> None:
        """Copy the ``follow_activity_limit`` latest actions of the target into the user's feeds.

        The follow itself is the host's to store (say, ``subscriptions.subscribe``).
        """
        self._queue_follow('follow', user_id, target_user_id)

    def unfollow_user(self, user_id: Any, target_user_id: Any) -> None:
        """Take the target's actions (those its user feed holds) out of the user's feeds."""
        self._queue_follow('unfollow', user_id, target_user_id)

    def _queue_follow(self, op: str, user_id: Any, target_user_id: Any) -> None:
        pair = [self.user_id(user_id), self.user_id(target_user_id, 'target_user_id')]
        enqueue([NewJob('feed', {'manager': self.path(), op: pair})]).ready()

    def copy_follow(self, user_id: str, target: str) -> None:
        """A ``follow`` job: the target's recent actions into the user's feeds."""
        entries = self.get_user_feed(target).entries(0, self.follow_activity_limit)
        self.run_chunk(FanoutChunk((user_id,), tuple(self.feed_classes), tuple(entries)))

    def uncopy_follow(self, user_id: str, target: str) -> None:
        """An ``unfollow`` job: the target's actions out of the user's feeds."""
        members = tuple(entry.member for entry in self.get_user_feed(target).entries(0, None))
        self.run_chunk(FanoutChunk((user_id,), tuple(self.feed_classes), remove=members))


def record_of(action_id: Any, new: NewAction) -> ActionRecord:
    """The record a just written NewAction reads back as."""
    fields = {name: getattr(new, name) for name in ('actor', 'verb', 'target', 'action_obj')}
    fields.update(description=new.description, extra=new.extra, timestamp=new.timestamp)
    return ActionRecord(id=action_id, broadcast=new.recipients is None, public=new.public, **fields)


def load_class(path: str) -> Any:
    """What a ``module:Class`` path names (nested classes too), None when nothing: check it."""
    module, _, name = path.partition(':')
    found: Any = importlib.import_module(module)
    for part in name.split('.'):
        found = getattr(found, part, None)
    return found

"""FeedManager: a user's activity into their own feed and, fanned out, their followers'.

As in Stream Framework's seed, a subclass names its feeds and may say who
follows whom::

    class PinManager(FeedManager):
        feed_classes = dict(normal=PinFeed)
        user_feed_class = UserPinFeed

By default the followers of a user are its subscribers in our subscriptions
store (``subscriptions.subscribe(follower, user)``). Writes wait for the
host's commit (MongoDB: none to wait for), so a rolled-back action never
reaches a feed, and are cut into chunks of ``fanout_chunk_size`` followers,
one Redis round trip each. Feeds are a cache: one Redis lost (or never had)
is written again from the database when ``get_feeds`` hands it out.
"""

from collections.abc import Iterable, Iterator

from .. import model, refs
from ..action import Action
from ..redis_client import client
from ..storage.base import Ref
from .entries import entry_of, member_of
from .fanout import FanoutChunk, FanoutPriority
from .rebuild import newest_entries
from .redis_feed import RedisFeed, feed_user_id, key_types

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
    #: the class name users are stored under in references (subscriptions, actors)
    user_type = 'User'
    #: followers written per Redis round trip
    fanout_chunk_size = 1000
    #: how many of the followed user's recent actions a follow copies
    follow_activity_limit = 1000

    # -- users and feeds ---------------------------------------------------

    def user_id(self, user, argname: str = 'user_id') -> str:
        """The feed id of ``user``: its primary key, the user entity or its Ref."""
        if isinstance(user, key_types()) and not isinstance(user, bool):
            return feed_user_id(user, argname)
        ref = refs.ref_of(user, argname)
        if ref.type != self.user_type:
            raise ValueError(f'{argname} is a {ref.type}, not a {self.user_type} (user_type)')
        return feed_user_id(ref.id, argname)

    def user_ref(self, user) -> Ref:
        """The stored reference of ``user`` (as the subscriptions store and actions hold it)."""
        return Ref(self.user_type, self.user_id(user))

    def get_user_feed(self, user_id) -> RedisFeed:
        """The feed of what ``user_id`` did (written again from the database if Redis lost it)."""
        user_id = self.user_id(user_id)
        feed = self.user_feed_class(user_id)
        self._rebuild_lost(user_id, [feed])
        return feed

    def get_feeds(self, user_id) -> dict[str, RedisFeed]:
        """{name: feed} of the feeds ``user_id`` reads (written again if Redis lost them)."""
        user_id = self.user_id(user_id)
        feeds = {name: cls(user_id) for name, cls in self.feed_classes.items()}
        self._rebuild_lost(user_id, list(feeds.values()))
        return feeds

    def get_user_follower_ids(self, user_id) -> dict:
        """{FanoutPriority: ids} of the followers of ``user_id``: by default its subscribers.

        Override it to read follows from elsewhere, or to split followers by
        priority; any iterable of ids will do.
        """
        return {FanoutPriority.HIGH: self._subscriber_ids(user_id)}

    def get_user_following_ids(self, user_id) -> Iterable:
        """The ids of the users ``user_id`` follows: by default those it is subscribed to.

        Feeds are written again from it; override it with ``get_user_follower_ids``.
        """
        ref = self.user_ref(user_id)
        found = model.storage().subscriptions(ref, None, 0)
        return [r.id for r in found if r.type == self.user_type]

    def _subscriber_ids(self, user_id) -> Iterator[str]:
        """The users subscribed to ``user_id``, read a chunk at a time."""
        storage, ref, after = model.storage(), self.user_ref(user_id), None
        while True:
            page = storage.subscriber_page(ref, after, self.fanout_chunk_size)
            yield from (r.id for r, _ in page if r.type == self.user_type)
            if len(page) < self.fanout_chunk_size:
                return
            after = page[-1][1]

    # -- fan-out -----------------------------------------------------------

    def fanout_chunks(self, user_id, add=(), remove=()) -> list[FanoutChunk]:
        """The chunks writing ``add`` (entries) and ``remove`` (members) to the followers' feeds.

        HIGH priority first; the user's own feeds are not among them.
        """
        user_id = self.user_id(user_id)
        by_priority = self.get_user_follower_ids(user_id)
        if not isinstance(by_priority, dict):
            raise TypeError('get_user_follower_ids() must return {FanoutPriority: ids}')
        unknown = set(by_priority) - set(FanoutPriority)  # 'high' is FanoutPriority.HIGH
        if unknown:
            raise ValueError(f'get_user_follower_ids() gave an unknown priority: {unknown.pop()!r}')
        chunks, done, names = [], {user_id}, tuple(self.feed_classes)
        for priority in FanoutPriority:
            ids = by_priority.get(priority, ())
            for part in self._chunked(self._new_ids(ids, done)):
                chunks.append(FanoutChunk(part, names, tuple(add), tuple(remove), priority))
        return chunks

    def _new_ids(self, ids: Iterable, done: set) -> Iterator[str]:
        for index, user_id in enumerate(ids):
            user_id = feed_user_id(user_id, f'follower ids[{index}]')
            if user_id not in done:
                done.add(user_id)
                yield user_id

    def _chunked(self, ids: Iterator[str]) -> Iterator[tuple[str, ...]]:
        part = []
        for user_id in ids:
            part.append(user_id)
            if len(part) == self.fanout_chunk_size:
                yield tuple(part)
                part = []
        if part:
            yield tuple(part)

    def _feed_class(self, name: str) -> type[RedisFeed]:
        if name == USER_FEED:
            return self.user_feed_class
        try:
            return self.feed_classes[name]
        except KeyError:
            raise ValueError(f'{name!r} is not one of the feed_classes') from None

    def run_chunk(self, chunk: FanoutChunk) -> None:
        """Write one chunk: one Redis round trip, and the same feeds if run again."""
        if not (chunk.add or chunk.remove) or not chunk.user_ids:
            return
        classes = [self._feed_class(name) for name in chunk.feeds]
        pipe = client(model.options()['redis_url']).pipeline(transaction=False)
        for user_id in chunk.user_ids:
            for cls in classes:
                feed = cls(user_id)
                if chunk.remove:
                    feed.queue_remove(pipe, chunk.remove)
                if chunk.add:
                    feed.queue_add(pipe, chunk.add)
        pipe.execute()

    def _after_commit(self, work) -> None:
        """Run ``work()`` once the host's transaction commits (at once on MongoDB)."""
        model.storage().after_commit(work)

    def _run_after_commit(self, chunks: list[FanoutChunk]) -> None:
        self._after_commit(lambda: [self.run_chunk(chunk) for chunk in chunks])

    def _own_chunk(self, user_id, add=(), remove=()) -> FanoutChunk:
        """The user feed and the user's own feeds: they show the user's actions too."""
        return FanoutChunk((user_id,), (USER_FEED, *self.feed_classes), tuple(add), tuple(remove))

    # -- the database is the truth -----------------------------------------

    def rebuild_feeds(self, user_id) -> None:
        """Write the user feed and the feeds of ``user_id`` again from the database.

        What they hold stays (writes are merges), trimmed to ``max_length``.
        """
        user_id = self.user_id(user_id)
        feeds = [self.user_feed_class(user_id), *(c(user_id) for c in self.feed_classes.values())]
        self._rebuild(user_id, feeds)

    def _rebuild_lost(self, user_id: str, feeds: list[RedisFeed]) -> None:
        """Rebuild those of ``feeds`` never built, or lost by Redis: one round trip to know."""
        pipe = client(model.options()['redis_url']).pipeline(transaction=False)
        for feed in feeds:
            pipe.exists(feed.built_key)
        lost = [feed for feed, built in zip(feeds, pipe.execute(), strict=True) if not built]
        if lost:
            self._rebuild(user_id, lost)

    def _rebuild(self, user_id: str, feeds: list[RedisFeed]) -> None:
        """The user feed: the user's public actions; the others: the followed users' too.

        Read in a transaction of its own: what the caller has not committed
        yet (and may roll back) is not written to a feed.
        """
        me = self.user_ref(user_id)
        own_key = self.user_feed_class(user_id).key
        pipe = client(model.options()['redis_url']).pipeline(transaction=False)
        with model.unit_of_work() as storage:
            for own in (True, False):
                chosen = [feed for feed in feeds if (feed.key == own_key) == own]
                if not chosen:
                    continue
                actors = [me] if own else [me, *self._followed_refs(user_id)]
                length = max(feed.max_length for feed in chosen)
                entries = newest_entries(storage, dict.fromkeys(actors), length)
                for feed in chosen:
                    feed.queue_add(pipe, entries)
                    pipe.set(feed.built_key, 1)
        pipe.execute()

    def _followed_refs(self, user_id: str) -> Iterator[Ref]:
        for index, followed in enumerate(self.get_user_following_ids(user_id)):
            yield Ref(self.user_type, feed_user_id(followed, f'following ids[{index}]'))

    # -- the seed's API ----------------------------------------------------

    def _checked_action(self, user_id: str, action) -> Action:
        if not isinstance(action, Action):
            raise TypeError(f'action must be an Action, got {type(action).__name__}')
        if not action.public:
            raise ValueError(f'action {action.id} is not public: feeds show it to every follower')
        if action.actor_ref != Ref(self.user_type, user_id):
            raise ValueError(f'action {action.id} was not done by user {user_id}')
        return action

    def add_user_activity(self, user_id, action) -> None:
        """Add ``action`` (a public one done by ``user_id``) to its feeds and its followers'.

        The followers are read now; the feeds are written after the commit.
        """
        user_id = self.user_id(user_id)
        entry = entry_of(self._checked_action(user_id, action))
        own = self._own_chunk(user_id, add=(entry,))
        self._run_after_commit([own, *self.fanout_chunks(user_id, add=(entry,))])

    def remove_user_activity(self, user_id, action) -> None:
        """Take ``action`` (an Action or its id) out of the user's feeds and its followers'.

        For an action deleted from the database (or no longer public): feeds
        written again from the database show what it still holds.
        """
        user_id = self.user_id(user_id)
        try:
            action_id = model.storage().action_id(getattr(action, 'id', action))
        except ValueError:
            raise ValueError(f'action is not an action or an action id: {action!r}') from None
        member = member_of(action_id)
        own = self._own_chunk(user_id, remove=(member,))
        self._run_after_commit([own, *self.fanout_chunks(user_id, remove=(member,))])

    def follow_user(self, user_id, target_user_id) -> None:
        """Copy the ``follow_activity_limit`` latest actions of the target into the user's feeds.

        The follow itself is the host's to store (say, ``subscriptions.subscribe``).
        """
        user_id = self.user_id(user_id)
        source = self.get_user_feed(self.user_id(target_user_id, 'target_user_id'))

        def copy():
            entries = source.entries(0, self.follow_activity_limit)
            self.run_chunk(FanoutChunk((user_id,), tuple(self.feed_classes), tuple(entries)))

        self._after_commit(copy)

    def unfollow_user(self, user_id, target_user_id) -> None:
        """Take the target's actions (those its user feed holds) out of the user's feeds."""
        user_id = self.user_id(user_id)
        source = self.get_user_feed(self.user_id(target_user_id, 'target_user_id'))

        def uncopy():
            members = tuple(entry.member for entry in source.entries(0, None))
            self.run_chunk(FanoutChunk((user_id,), tuple(self.feed_classes), remove=members))

        self._after_commit(uncopy)

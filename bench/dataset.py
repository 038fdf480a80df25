"""The benchmark's dataset: deterministic, skewed like a real social site, loaded via create_many.

Follows are drawn per user (log-normal count, mean ~10) over actors ranked by
a Zipf law, so a few actors have thousands of followers and most have a
handful. Activities are spread uniformly over actors and 90 days and each is
delivered to its actor's followers, so deliveries ~ activities x 10. Every
number comes from one seeded generator: the same flags give the same rows.

Each user's ``last_activity_seen`` lies an exponentially distributed time before
the end, with a mean that scales inversely with the activity density:
MEAN_UNSEEN_DAYS x (seed activities / this size's activities), capped at the
90-day span. Why: a user opens the menu after about the same number of new
notifications whatever the site's size, so a user's expected number of unseen
notifications must be the same at every size; with one fixed window, a 10x
larger site gives a 10x larger unseen range, and the Q2 scaling measurement
would measure that range instead of the cost of the tables' size. (The tiny
size hits the cap: its users have fewer notifications in 90 days than the
others have unseen, so its unseen count is lower; the report gives the median
per size.)

Kinds of users a uniform sample hides (issue 15), drawn from a generator of
their own after the rest, so that everything else is drawn as before:
*heaviest followers* (a few users following HEAVY_FOLLOWS actors each, by the
same popularity law: the largest inboxes), *never seen* (no
``last_activity_seen`` at all: every delivery and every other actor's
broadcast counts) and *long unseen* (last seen 30 to 60 days before the end:
thousands of unseen notifications at the seed size). The rest are *typical*.

END is fixed, so that the same flags give the same rows on any day; the bench
host plugs an ``unseen_window`` reaching back past the dataset's first day
(:func:`history_window`), so counts still start at each user's last-seen time
(see docs/benchmarks.md, "The look-back window").
"""

import dataclasses
import time
from datetime import datetime, timedelta, timezone

import numpy as np

SIZES = {
    # name: (users, activities, posts) -> ~50k, ~500k, ~5M deliveries
    'tiny': (600, 5_000, 500),
    'small': (6_000, 50_000, 5_000),
    'seed': (60_000, 500_000, 50_000),
}
SEED = 20260101
END = datetime(2026, 1, 1)  # the dataset's "now": timestamps fall in the 90 days before
DAY_MS = 24 * 3600 * 1000
SPAN_MS = 90 * DAY_MS
MEAN_FOLLOWS = 10
ZIPF_S = 0.7  # popularity skew over actors: the top one gets ~1% of all follows
BROADCAST_SHARE = 0.02
MEAN_UNSEEN_DAYS = 3  # at the seed size; other sizes scale it, see unseen_window_ms
# the kinds of users (see above): shares of all users, and what sets them apart
KINDS = ('typical', 'heaviest followers', 'never seen', 'long unseen')
HEAVY_FOLLOWER_SHARE = 0.0005  # at least one user
HEAVY_FOLLOWS = 2000
NEVER_SEEN_SHARE = 0.02
LONG_UNSEEN_SHARE = 0.01
LONG_UNSEEN_DAYS = (30, 60)
VERBS = ('posted', 'commented', 'liked', 'mentioned')
VERB_P = (0.15, 0.45, 0.3, 0.1)
CHUNK = 2000


@dataclasses.dataclass
class Dataset:
    size: str
    seed: int
    n_users: int
    n_posts: int
    follower: np.ndarray  # follow edges: follower[i] follows followee[i] (user indexes)
    followee: np.ndarray
    act_actor: np.ndarray
    act_ms: np.ndarray  # ms before END, sorted so that ids grow with time
    act_verb: np.ndarray
    act_target: np.ndarray
    act_obj: np.ndarray  # a mentioned user, or -1
    act_broadcast: np.ndarray
    last_seen_ms: np.ndarray  # per user, ms before END (a never-seen user's is not used)
    kind: np.ndarray  # per user, an index of KINDS

    @property
    def n_activities(self):
        return len(self.act_actor)

    def followers_index(self):
        """CSR of followers per actor: followers[start[a]:start[a + 1]]."""
        order = np.argsort(self.followee, kind='stable')
        counts = np.bincount(self.followee, minlength=self.n_users)
        start = np.concatenate([[0], np.cumsum(counts)])
        return self.follower[order], start

    def follower_counts(self):
        return np.bincount(self.followee, minlength=self.n_users)

    def inbox_sizes(self):
        """Deliveries per user (broadcasts not counted)."""
        acts = np.bincount(self.act_actor[~self.act_broadcast], minlength=self.n_users)
        return np.bincount(self.follower, weights=acts[self.followee], minlength=self.n_users)

    def never_seen(self):
        return self.kind == KINDS.index('never seen')

    def counted_from_ms(self):
        """Per user, where Q2 starts counting, in ms before END: a never-seen user from before
        the first day (the bench's window reaches past it)."""
        return np.where(self.never_seen(), SPAN_MS + 1, self.last_seen_ms)

    def top_actor(self):
        return int(np.argmax(self.follower_counts()))

    def summary(self):
        followers = self.follower_counts()
        inbox = self.inbox_sizes()
        delivered = followers[self.act_actor[~self.act_broadcast]].sum()
        unseen = self.unseen_per_user()
        seen = ~self.never_seen()
        return {
            'size': self.size,
            'seed': self.seed,
            'users': self.n_users,
            'posts': self.n_posts,
            'activities': self.n_activities,
            'broadcasts': int(self.act_broadcast.sum()),
            'deliveries': int(delivered),
            'follows': len(self.follower),
            'mean_follows': round(len(self.follower) / self.n_users, 2),
            'followers_max': int(followers.max()),
            'followers_p99': int(np.percentile(followers, 99)),
            'followers_median': int(np.median(followers)),
            'actors_with_1000_followers': int((followers >= 1000).sum()),
            'inbox_max': int(inbox.max()),
            'inbox_median': int(np.median(inbox)),
            'unseen_window_mean_days': round(unseen_window_ms(self.n_activities) / DAY_MS, 2),
            'last_seen_capped_share': round(float((self.last_seen_ms[seen] >= SPAN_MS).mean()), 3),
            'unseen_median': int(np.median(unseen)),
            'unseen_broadcasts_median': self.unseen_broadcasts(),
            'kinds': {
                name: {
                    'users': int((self.kind == k).sum()),
                    'inbox_median': int(np.median(inbox[self.kind == k])),
                    'unseen_median': int(np.median(unseen[self.kind == k])),
                }
                for k, name in enumerate(KINDS)
            },
        }

    def unseen_broadcasts_per_user(self):
        """Per user, the others' broadcasts newer than their last-seen time (part of Q2's answer).

        A user's own broadcasts are not in its inbox.
        """
        actor, ms = self.act_actor[self.act_broadcast], self.act_ms[self.act_broadcast]
        since = self.counted_from_ms()
        newer = np.searchsorted(np.sort(ms), since)
        own = np.bincount(actor[ms < since[actor]], minlength=self.n_users)
        return newer - own

    def unseen_inbox_per_user(self):
        """Per user, the deliveries newer than their last-seen time (the rest of Q2's answer)."""
        direct = ~self.act_broadcast
        actor, ms = self.act_actor[direct], self.act_ms[direct]
        # one sorted key per activity, (actor, ms before END): an actor's activities newer
        # than a time t are the keys in [actor * SPAN, actor * SPAN + t)
        keys = np.sort(actor.astype(np.int64) * (SPAN_MS + 1) + ms)
        base = self.followee.astype(np.int64) * (SPAN_MS + 1)
        since = self.counted_from_ms()[self.follower]
        per_edge = np.searchsorted(keys, base + since) - np.searchsorted(keys, base)
        return np.bincount(self.follower, weights=per_edge, minlength=self.n_users).astype(np.int64)

    def unseen_per_user(self):
        """Per user, what ``am.count_not_seen_by_recipient`` answers (inbox + broadcasts)."""
        return self.unseen_inbox_per_user() + self.unseen_broadcasts_per_user()

    def unseen_broadcasts(self):
        """Median over users of the broadcasts newer than their last-seen time (part of Q2)."""
        return int(np.median(self.unseen_broadcasts_per_user()))

    def timestamp(self, ms):
        return END - timedelta(milliseconds=int(ms))

    def newest_broadcasters(self, count):
        """The actors of the ``count`` newest broadcasts: their inboxes leave those out."""
        newest_last = self.act_actor[self.act_broadcast]
        return list(dict.fromkeys(int(a) for a in newest_last[::-1]))[:count]

    def pick_users(self, count, seed):
        """``count`` users: the 10 heaviest recipients, the rest drawn at random."""
        heaviest = [int(i) for i in np.argsort(-self.inbox_sizes(), kind='stable')[:10]]
        rng = np.random.default_rng(seed)
        others = [int(i) for i in rng.permutation(self.n_users) if int(i) not in heaviest]
        return (heaviest + others)[: min(count, self.n_users)]

    def pick_kind(self, kind, count, seed):
        """Up to ``count`` users of ``kind`` (a name of KINDS), in a random order."""
        found = np.flatnonzero(self.kind == KINDS.index(kind))
        return [int(i) for i in np.random.default_rng(seed).permutation(found)[:count]]


def unseen_window_ms(n_activities):
    """Mean time since a user's last look, inverse to the activity density, capped at 90 days.

    So that a user's expected number of unseen notifications is the same at
    every size (see the module's docstring).
    """
    seed_activities = SIZES['seed'][1]
    return min(MEAN_UNSEEN_DAYS * DAY_MS * seed_activities / n_activities, SPAN_MS)


def history_window(now=None):
    """An ``unseen_window`` reaching a day past the dataset's first day, seen from ``now``.

    Counts look back at most that window; with it, they start at each user's
    last-seen time, as drawn above, however long ago END is.
    """
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    return now - (END - timedelta(milliseconds=SPAN_MS)) + timedelta(days=1)


def generate(size, seed=SEED):
    n_users, n_acts, n_posts = SIZES[size]
    rng = np.random.default_rng(seed)
    # follows: log-normal counts (mean MEAN_FOLLOWS), followees by Zipf rank
    sigma = 1.0
    mu = np.log(MEAN_FOLLOWS) - sigma**2 / 2
    wanted = np.clip(np.rint(rng.lognormal(mu, sigma, n_users)), 1, min(n_users - 1, 2000))
    wanted = wanted.astype(np.int64)
    rank_weight = np.arange(1, n_users + 1, dtype=float) ** -ZIPF_S
    by_rank = rng.permutation(n_users)  # by_rank[r] is the user of popularity rank r
    follower = np.repeat(np.arange(n_users), wanted)
    followee = by_rank[rng.choice(n_users, size=len(follower), p=rank_weight / rank_weight.sum())]
    keep = follower != followee
    edges = np.unique(follower[keep] * n_users + followee[keep])
    follower, followee = edges // n_users, edges % n_users
    # activities, oldest first
    act_ms = np.sort(rng.integers(0, SPAN_MS, n_acts))[::-1].copy()
    act_actor = rng.integers(0, n_users, n_acts)
    act_verb = rng.choice(len(VERBS), size=n_acts, p=VERB_P)
    act_target = rng.integers(0, n_posts, n_acts)
    mentioned = rng.integers(0, n_users, n_acts)
    act_obj = np.where(act_verb == VERBS.index('mentioned'), mentioned, -1)
    act_broadcast = rng.random(n_acts) < BROADCAST_SHARE
    last_seen = rng.exponential(unseen_window_ms(n_acts), n_users).astype(np.int64)
    last_seen = np.minimum(last_seen, SPAN_MS)
    kind, heavy_edges = _kinds(np.random.default_rng(seed + 2), n_users, rank_weight, by_rank)
    if len(heavy_edges):
        edges = np.union1d(follower * n_users + followee, heavy_edges)
        follower, followee = edges // n_users, edges % n_users
    long_unseen = kind == KINDS.index('long unseen')
    days = np.random.default_rng(seed + 3).uniform(*LONG_UNSEEN_DAYS, int(long_unseen.sum()))
    last_seen[long_unseen] = (days * DAY_MS).astype(np.int64)
    return Dataset(
        size=size,
        seed=seed,
        n_users=n_users,
        n_posts=n_posts,
        follower=follower,
        followee=followee,
        act_actor=act_actor,
        act_ms=act_ms,
        act_verb=act_verb,
        act_target=act_target,
        act_obj=act_obj,
        act_broadcast=act_broadcast,
        last_seen_ms=last_seen,
        kind=kind,
    )


def _kinds(rng, n_users, rank_weight, by_rank):
    """(each user's kind, the heaviest followers' follow edges as follower * n_users + followee)."""
    kind = np.zeros(n_users, dtype=np.int8)
    order = rng.permutation(n_users)
    counts = [max(1, round(HEAVY_FOLLOWER_SHARE * n_users))]
    counts += [round(share * n_users) for share in (NEVER_SEEN_SHARE, LONG_UNSEEN_SHARE)]
    start = 0
    for k, count in enumerate(counts, start=1):
        kind[order[start : start + count]] = k
        start += count
    heavy = order[: counts[0]]
    follows = min(n_users - 1, HEAVY_FOLLOWS)
    wanted = rank_weight / rank_weight.sum()
    edges = []
    for user in heavy:
        followees = by_rank[rng.choice(n_users, size=follows, replace=False, p=wanted)]
        followees = followees[followees != user]
        edges.append(int(user) * n_users + followees)
    return kind, np.concatenate(edges) if edges else np.array([], dtype=np.int64)


def _user_rows(host, data):
    sql = host.backend in ('sqlite', 'postgresql')
    rows = []
    never = data.never_seen().tolist()
    for i in range(data.n_users):
        seen = None if never[i] else data.timestamp(data.last_seen_ms[i])
        row = dict(user_name=f'user{i}', last_activity_seen=seen)
        row.update({'user_id': i + 1} if sql else {'_id': object_id(i)})
        rows.append(row)
    return rows


def _post_rows(host, data, authors):
    sql = host.backend in ('sqlite', 'postgresql')
    rows = []
    for i in range(data.n_posts):
        author = int(authors[i])
        row = dict(slug=f'post-{i}', title=f'Post number {i}')
        if sql:
            row.update(post_id=i + 1, author_id=author + 1)
        else:
            row.update(_id=object_id(POST_OID_BASE + i), author_id=object_id(author))
        rows.append(row)
    return rows


def object_id(n):
    """A deterministic ObjectId for Ming rows."""
    from bson import ObjectId

    return ObjectId(_object_id_hex(n))


def _object_id_hex(n):
    return f'{n:024x}'


POST_OID_BASE = 0x100000000  # Ming: posts' ObjectIds start here, users' at 0


def references(host, data):
    """(users, posts) as stored references, indexed like the dataset's arrays: nothing loaded.

    What an import script passes ``am.create_many`` instead of ORM objects.
    """
    from activitystream import Ref, entities

    model = host.model
    if host.backend in ('sqlite', 'postgresql'):
        user_key, post_key = (lambda i: str(i + 1)), (lambda i: str(i + 1))
    else:
        user_key, post_key = _object_id_hex, (lambda i: _object_id_hex(POST_OID_BASE + i))
    user, post = (entities.active().name_of(cls) for cls in (model.User, model.Post))
    users = [Ref(user, user_key(i)) for i in range(data.n_users)]
    posts = [Ref(post, post_key(i)) for i in range(data.n_posts)]
    return users, posts


def _sorted_entities(host, cls, key):
    found = host.all(cls)
    found.sort(key=key)
    return found


def entities(host):
    """(users, posts) as loaded host entities, indexed like the dataset's arrays."""
    model = host.model
    if host.backend in ('sqlite', 'postgresql'):
        users = _sorted_entities(host, model.User, lambda u: u.user_id)
        posts = _sorted_entities(host, model.Post, lambda p: p.post_id)
    else:
        users = _sorted_entities(host, model.User, lambda u: u._id)
        posts = _sorted_entities(host, model.Post, lambda p: p._id)
    return users, posts


def description(verb, i):
    """Activity ``i``'s description: comments have one."""
    return f'{verb} #{i}' if verb == 'commented' else None


def extra(verb, i):
    """Activity ``i``'s extra data: likes have some."""
    return {'n': i} if verb == 'liked' else None


def inbox_pairs(data):
    """(recipient, activity) of every delivery, as two index arrays sorted by recipient then time.

    Activity indexes grow with time (``act_ms`` is sorted), so this is the
    inbox index's order.
    """
    followers, start = data.followers_index()
    direct = np.flatnonzero(~data.act_broadcast)
    actor = data.act_actor[direct]
    counts = start[actor + 1] - start[actor]
    activity = np.repeat(direct, counts)
    first = np.repeat(start[actor] - (np.cumsum(counts) - counts), counts)
    recipient = followers[first + np.arange(int(counts.sum()))]
    order = np.lexsort((activity, recipient))
    return recipient[order], activity[order]


def items(data, users, posts, start, stop, followers, fstart):
    """create_many items for activities [start, stop), with plain Python values.

    ``users`` and ``posts``: entities or their references, indexed like the dataset.
    """
    stop = min(stop, data.n_activities)
    cols = [
        a[start:stop].tolist()
        for a in (data.act_verb, data.act_actor, data.act_obj, data.act_broadcast)
    ]
    targets, ms = data.act_target[start:stop].tolist(), data.act_ms[start:stop].tolist()
    for n, (verb, actor, obj, broadcast) in enumerate(zip(*cols, strict=True)):
        i = start + n
        verb = VERBS[verb]
        if broadcast:
            recipients = None
        else:
            recipients = [users[f] for f in followers[fstart[actor] : fstart[actor + 1]]]
        yield dict(
            actor=users[actor],
            verb=verb,
            target=posts[targets[n]],
            action_obj=users[obj] if obj >= 0 else None,
            description=description(verb, i),
            extra=extra(verb, i),
            recipients=recipients,
            timestamp=data.timestamp(ms[n]),
        )


def load(host, data, chunk=CHUNK, log=print):
    """Wipe and load ``data``: host rows in bulk, activities through am.create_many.

    Users and posts are named by references (:func:`references`), as an import
    script would: none is loaded as an ORM object.
    """
    from activitystream import am

    times = {}
    started = time.perf_counter()
    host.reset_schema()
    host.bulk_insert(host.model.User, _user_rows(host, data))
    authors = np.random.default_rng(data.seed + 1).integers(0, data.n_users, data.n_posts)
    host.bulk_insert(host.model.Post, _post_rows(host, data, authors))
    host.commit()
    times['users_posts_s'] = time.perf_counter() - started
    users, posts = references(host, data)
    followers, fstart = data.followers_index()
    followers, fstart = followers.tolist(), fstart.tolist()
    t0 = time.perf_counter()
    in_create_many = 0.0
    for start in range(0, data.n_activities, chunk):
        t1 = time.perf_counter()
        # a generator: streamed, counted (no Action objects come back), items made as it goes
        am.create_many(items(data, users, posts, start, start + chunk, followers, fstart))
        host.commit()
        in_create_many += time.perf_counter() - t1
        done = min(start + chunk, data.n_activities)
        if done % (chunk * 25) == 0 or done == data.n_activities:
            log(f'  {host.backend}/{data.size}: {done}/{data.n_activities} activities')
    times['activities_s'] = time.perf_counter() - t0
    times['create_many_and_commit_s'] = in_create_many
    times['total_s'] = time.perf_counter() - started
    meta = dict(data.summary(), load=times)
    host.write_meta(meta)
    return meta

"""``python -m bench.feeds``: fan-out feeds beside raw redis-py doing the same writes (issue 10).

On the sample app (SQLite, and a PostgreSQL database of its own), real Redis
under a key prefix of its own (deleted at the end) and the stock
``FeedManager`` (feeds ``normal``, max_length 1,000):

1. fan-out of one action to ``--followers`` (10,000): ``am.create`` + commit
   until the last follower feed is written, inline and with ``--workers``
   Celery worker processes on RabbitMQ (PostgreSQL only; until the outbox is
   empty, polled every 50 ms, then every feed is checked);
2. feed inserts per second of ``run_chunk`` (chunks of 1,000 followers);
3. reads of 25 ids and of 25 hydrated actions (actor and target displayed);
4. a follow of an actor with 1,000 actions (``subscriptions.subscribe``);
5. the first page of a user following 500 actors after its keys were deleted;
6. Redis memory of a feed of 1,000 entries.

Each is beside a floor: redis-py doing the same Redis writes or reads raw, in
the fewest round trips. Fan-out writes only the feeds of active readers (their
built marker lives): the followers are made active first, their markers SET in
one pipeline, as their reads would have.
"""

import argparse
import cProfile
import dataclasses
import datetime as dt
import io
import itertools
import json
import os
import pathlib
import pstats
import random
import statistics
import tempfile
import time
import uuid

import sqlalchemy as sa
import transaction

from tests import harness  # noqa: E402 (importable once bench.delivery set the path)
from tests import subscription_support as support  # noqa: E402
from tests.test_celery_runner import BROKERS, Site, stop  # noqa: E402

from .common import machine, stats, table
from .delivery import ROOT, delete_queues, start_worker, wait

RESULTS = ROOT / 'bench' / 'results'
MANAGER = 'activitystream.feeds:FeedManager'
FEED = 'normal'
T0 = dt.datetime(2026, 1, 1)


@dataclasses.dataclass
class Sizes:
    """How big each part is (the defaults are issue 10's)."""

    followers: int = 10_000
    chunk: int = 1_000
    workers: int = 2
    reps: int = 3
    insert_reps: int = 7  # cheap (10,000 writes each): more, for a steadier ratio
    readers: int = 100
    reads: int = 1_000
    follow_actions: int = 1_000
    following: int = 500
    per_actor: int = 20
    feed_entries: int = 1_000


def ms(seconds: float) -> float:
    return seconds * 1000


def median_of(samples: list[float]) -> dict:
    return {'median_ms': statistics.median(samples), 'ms': samples}


# -- the site and its data ----------------------------------------------------


class Bench:
    """One site (its database and plug options) with the bench's users and actions."""

    def __init__(self, site, backend: str, sizes: Sizes):
        from activitystream import model

        self.site, self.backend, self.sizes = site, backend, sizes
        self.model = site.model
        self.manager = model.options()['feed_manager']
        self.redis = self.manager._redis()
        self.engine = site.model.DBSession.get_bind()
        self.meta = site.model.metadata

    def users(self, kind: str, n: int) -> list[str]:
        """``n`` new users inserted in one statement: their ids, as feeds name them."""
        table = self.model.User.__table__
        tag = f'{kind}{uuid.uuid4().hex[:6]}.'
        rows = [{'user_name': f'{tag}{i}', 'created': T0} for i in range(n)]
        with self.engine.begin() as conn:
            conn.execute(table.insert(), rows)
            found = conn.execute(
                sa.select(table.c.user_id)
                .where(table.c.user_name.like(f'{tag}%'))
                .order_by(table.c.user_id)
            )
            return [str(user_id) for user_id in found.scalars()]

    def follow(self, pairs: list[tuple[str, str]]) -> None:
        """(follower, followed) subscriptions inserted in one statement, no feed written."""
        table = self.meta.tables['activitystream_subscriptions']
        rows = [
            dict(
                subscriber_type='User',
                subscriber_id=a,
                object_type='User',
                object_id=b,
                created=T0,
            )
            for a, b in pairs
        ]
        with self.engine.begin() as conn:
            conn.execute(table.insert(), rows)

    def posts(self, authors: list[str], n: int) -> list[str]:
        """``n`` posts (the actions' targets), one statement: their ids."""
        table = self.model.Post.__table__
        tag = f'bench {uuid.uuid4().hex[:6]}'
        rows = [
            {'author_id': int(authors[i % len(authors)]), 'text': tag, 'created': T0}
            for i in range(n)
        ]
        with self.engine.begin() as conn:
            conn.execute(table.insert(), rows)
            found = conn.execute(sa.select(table.c.id).where(table.c.text == tag))
            return [str(post_id) for post_id in found.scalars()]

    def actions(self, actors: list[str], per_actor: int, posts: list[str]) -> None:
        """``per_actor`` public actions of each actor, written below the feed hooks."""
        from activitystream import model
        from activitystream.storage.base import NewAction, Ref

        new, second = [], itertools.count()
        for n in range(per_actor):
            for actor in actors:
                when = T0 + dt.timedelta(seconds=next(second))
                post = Ref('Post', posts[(n * len(actors) + len(new)) % len(posts)])
                actor_ref = Ref('User', actor)
                new.append(NewAction(actor_ref, 'posted', post, None, None, None, when, None))
        with model.unit_of_work() as storage:
            for start in range(0, len(new), 2000):
                storage.insert_actions(new[start : start + 2000])

    def feed(self, user_id: str):
        return self.manager.feed_classes[FEED](user_id)

    def activate(self, user_ids: list[str]) -> None:
        """Make readers active, as a read of their feeds would: markers SET in one pipeline."""
        from activitystream import model

        ttl = model.options()['feeds_inactive_days'] * 86400 or None
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.set(self.feed(user_id).built_key, 1, ex=ttl)
        pipe.execute()

    def holding(self, user_ids: list[str], member: str) -> int:
        """How many of the users' feeds hold ``member`` (one pipeline)."""
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zscore(self.feed(user_id).key, member)
        return sum(score is not None for score in pipe.execute())

    def entity(self, cls, key):
        return self.model.DBSession.get(cls, int(key))


# -- floors: redis-py, raw ---------------------------------------------------


def floor_fanout(redis, keys: list[str], entry, chunk: int, length: int = 1000) -> float:
    """Seconds of ZADD + ZREMRANGEBYRANK of one entry to ``keys``, ``chunk`` per pipeline."""
    started = time.perf_counter()
    for first in range(0, len(keys), chunk):
        pipe = redis.pipeline(transaction=False)
        for key in keys[first : first + chunk]:
            pipe.zadd(key, {entry.member: entry.score})
            pipe.zremrangebyrank(key, 0, -(length + 1))
        pipe.execute()
    return time.perf_counter() - started


def fresh_entry(n: int):
    """An entry no action has: a fan-out of the floor or of run_chunk writes it."""
    from activitystream.feeds.entries import Entry, member_of, score_of

    return Entry(score_of(T0 + dt.timedelta(days=30, seconds=n)), member_of(10**15 + n))


# -- 1, 2: fan-out -------------------------------------------------------------


def fanout_inline(bench: Bench, star: str, followers: list[str], post: str) -> dict:
    """am.create + commit until the last follower feed is written, beside the floor."""
    from activitystream import am
    from activitystream.feeds.entries import member_of

    sizes, model = bench.sizes, bench.model
    keys = [bench.feed(f).key for f in followers]
    ours, floor = [], []
    for rep in range(sizes.reps):
        entry = fresh_entry(rep)
        floor.append(floor_fanout(bench.redis, keys, entry, sizes.chunk))
        actor, target = bench.entity(model.User, star), bench.entity(model.Post, post)
        started = time.perf_counter()
        action = am.create(actor, 'posted', target=target)
        action_id = action.id
        transaction.commit()  # the inline runner drains the outbox here
        ours.append(time.perf_counter() - started)
        held = bench.holding(followers, member_of(action_id))
        if held != len(followers):
            raise RuntimeError(f'inline fan-out: {held} of {len(followers)} feeds hold it')
    return fanout_result(ours, floor, len(followers))


def fanout_result(ours: list[float], floor: list[float], followers: int) -> dict:
    o, f = statistics.median(ours), statistics.median(floor)
    return {
        'followers': followers,
        'ours': median_of([ms(s) for s in ours]),
        'floor': median_of([ms(s) for s in floor]),
        'ratio': o / f,
        'feeds_per_s': followers / o,
    }


def inserts(bench: Bench, followers: list[str]) -> dict:
    """Feed inserts per second of run_chunk (a ``feed`` job's Redis work) and of the floor."""
    from activitystream.feeds import FanoutChunk

    sizes, manager = bench.sizes, bench.manager
    parts = [tuple(followers[i : i + sizes.chunk]) for i in range(0, len(followers), sizes.chunk)]
    keys = [bench.feed(f).key for f in followers]
    ours, plain, floor = [], [], []
    for rep in range(sizes.insert_reps):
        entry = fresh_entry(100 + rep)
        floor.append(floor_fanout(bench.redis, keys, entry, sizes.chunk))
        for if_built, out in ((True, ours), (False, plain)):
            entry = fresh_entry(200 + 2 * rep + if_built)
            started = time.perf_counter()
            for part in parts:
                manager.run_chunk(FanoutChunk(part, (FEED,), (entry,)), if_built=if_built)
            out.append(time.perf_counter() - started)
    n = len(followers)
    best = {name: n / statistics.median(s) for name, s in (('ours', ours), ('floor', floor))}
    return {
        'chunks': len(parts),
        'chunk': sizes.chunk,
        'ours_per_s': best['ours'],
        'ours_unconditional_per_s': n / statistics.median(plain),
        'floor_per_s': best['floor'],
        'ratio': best['floor'] / best['ours'],
        'ours_ms': [ms(s) for s in ours],
        'ours_unconditional_ms': [ms(s) for s in plain],
        'floor_ms': [ms(s) for s in floor],
    }


def fanout_celery(here: pathlib.Path, database: str, prefix: str, sizes: Sizes, queues) -> dict:
    """The same fan-out done by ``sizes.workers`` worker processes (``--concurrency 1`` each)."""
    from activitystream import am, model
    from activitystream.delivery import stop_workers
    from activitystream.feeds.entries import member_of

    site = site_of(here, database, prefix, queues, 'celery', sizes)
    bench = Bench(site, 'postgresql', sizes)
    star, warm = bench.users('cstar', 2)
    followers = bench.users('cfol', sizes.followers)
    bench.follow([(f, star) for f in followers] + [(followers[0], warm)])
    [post] = bench.posts([star], 1)
    bench.activate(followers)
    keys = [bench.feed(f).key for f in followers]
    started = [start_worker(site, f'feeds{i}') for i in range(sizes.workers)]

    def pending():
        with model.unit_of_work() as storage:
            return storage.job_counts()['pending']

    ours, floor = [], []
    try:
        ready = lambda: all('ready.' in log.read_text() for _, log in started)  # noqa: E731
        wait(ready, 60, 'the workers start')
        for actor in [warm] + [star] * sizes.reps:  # the first: a warm-up of one follower
            user, target = bench.entity(site.model.User, actor), bench.entity(site.model.Post, post)
            begun = time.perf_counter()
            action = am.create(user, 'posted', target=target)
            action_id = action.id
            transaction.commit()
            wait(lambda: pending() == 0, 300, 'the fan-out')
            took = time.perf_counter() - begun
            if actor == warm:
                continue
            ours.append(took)
            held = bench.holding(followers, member_of(action_id))
            if held != len(followers):
                raise RuntimeError(f'celery fan-out: {held} of {len(followers)} feeds hold it')
            entry = fresh_entry(300 + len(ours))
            floor.append(floor_fanout(bench.redis, keys, entry, sizes.chunk))
    finally:
        for process, _ in started:
            stop(process)
        stop_workers(timeout=1)
    return dict(fanout_result(ours, floor, len(followers)), workers=sizes.workers)


# -- 3: reads ----------------------------------------------------------------


def reads(bench: Bench, readers: list[str], pool: list) -> dict:
    """p50/p99 of 25 ids, 25 hydrated actions and a whole page read, beside ZREVRANGE 25."""
    from activitystream.feeds import FanoutChunk

    sizes, manager = bench.sizes, bench.manager
    rng = random.Random(10)
    for reader in readers:
        entries = tuple(rng.sample(pool, min(sizes.feed_entries, len(pool))))
        manager.run_chunk(FanoutChunk((reader,), (FEED,), entries))
    bench.activate(readers)
    feeds = {reader: bench.feed(reader) for reader in readers}
    session = bench.model.DBSession

    def hydrated(actions):
        if len(actions) != 25:
            raise RuntimeError(f'a read gave {len(actions)} actions, not 25')
        for action in actions:
            action.actor, action.target  # noqa: B018 - what a page shows loads the entities

    def floor(feed):
        return bench.redis.zrevrange(feed.key, 0, 24, withscores=True)

    samples = {'floor_zrevrange': [], 'ids': [], 'hydrated': [], 'page': []}
    for n in range(sizes.reads):
        reader = readers[n % len(readers)]
        feed = feeds[reader]
        kinds = [
            ('floor_zrevrange', floor, feed),
            ('ids', lambda f: f.entries(0, 25), feed),
            ('hydrated', lambda f: hydrated(f[:25]), feed),
            ('page', lambda r: hydrated(manager.get_feeds(r)[FEED][:25]), reader),
        ]
        rng.shuffle(kinds)  # none always first after the last read's session ended
        for name, read, arg in kinds:
            started = time.perf_counter()
            read(arg)
            samples[name].append(ms(time.perf_counter() - started))
            transaction.abort()  # each read as a new request: an empty session
            session.remove()
    return {name: stats(values) for name, values in samples.items()}


# -- 4: follow ---------------------------------------------------------------


def follows(bench: Bench, prolific: str) -> dict:
    """subscribe + commit (the inline runner copies the actions) beside a raw ZADD of them."""
    from activitystream import subscriptions

    sizes, model = bench.sizes, bench.model
    held = bench.manager.get_user_feed(prolific)  # written as the actor's actions were
    entries = held.entries(0, None)
    mapping = {entry.member: entry.score for entry in entries}
    newcomers = bench.users('fw', sizes.reps)
    ours, floor = [], []
    for user_id in newcomers:
        key = f'{bench.feed(user_id).key}:floor'
        started = time.perf_counter()
        pipe = bench.redis.pipeline(transaction=False)
        pipe.zadd(key, mapping)
        pipe.zremrangebyrank(key, 0, -(1000 + 1))
        pipe.execute()
        floor.append(time.perf_counter() - started)
        follower, target = bench.entity(model.User, user_id), bench.entity(model.User, prolific)
        started = time.perf_counter()
        subscriptions.subscribe(follower, target)
        transaction.commit()
        ours.append(time.perf_counter() - started)
        count = bench.feed(user_id).count()
        if count != len(entries):
            raise RuntimeError(f'follow: the feed holds {count}, not {len(entries)}')
    o, f = statistics.median(ours), statistics.median(floor)
    return {
        'actions': len(entries),
        'ours': median_of([ms(s) for s in ours]),
        'floor_zadd': median_of([ms(s) for s in floor]),
        'ratio': o / f,
    }


# -- 5: rebuild ----------------------------------------------------------------


def drop_keys(redis, prefix: str) -> int:
    """Delete every key of the bench (its prefix): what a flush of its Redis would lose."""
    keys = list(redis.scan_iter(match=f'{prefix}:*', count=1000))
    for first in range(0, len(keys), 1000):
        redis.delete(*keys[first : first + 1000])
    return len(keys)


def rebuilds(bench: Bench, reader: str, prefix: str, following: int) -> dict:
    """The first page after every bench key was deleted: written again from the database."""
    sizes, manager = bench.sizes, bench.manager
    took, profile = [], None
    for rep in range(sizes.reps + 1):  # the last one under cProfile, not counted
        drop_keys(bench.redis, prefix)
        profiler = cProfile.Profile() if rep == sizes.reps else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        page = manager.get_feeds(reader)[FEED][:25]
        for action in page:
            action.actor, action.target  # noqa: B018
        if profiler:
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats('cumulative').print_stats(18)
            profile = out.getvalue()
        else:
            took.append(time.perf_counter() - started)
        transaction.abort()
        bench.model.DBSession.remove()
        if len(page) != 25:
            raise RuntimeError(f'rebuild: the first page holds {len(page)} actions')
    return {
        'following': following,
        'actions_per_actor': sizes.per_actor,
        'first_page': median_of([ms(s) for s in took]),
        'target_ms': 200,
        'profile': profile,
    }


# -- 6: memory -----------------------------------------------------------------


def memory(bench: Bench) -> dict:
    """MEMORY USAGE of a feed of ``feed_entries`` integer-id entries and of its built marker."""
    from activitystream.feeds import FanoutChunk
    from activitystream.feeds.entries import Entry, member_of, score_of

    n, redis = bench.sizes.feed_entries, bench.redis
    user_id = bench.users('mem', 1)[0]
    entries = tuple(
        Entry(score_of(T0 + dt.timedelta(seconds=i)), member_of(5_000_000 + i)) for i in range(n)
    )
    bench.manager.run_chunk(FanoutChunk((user_id,), (FEED,), entries))
    bench.activate([user_id])
    feed = bench.feed(user_id)
    feed_bytes = redis.memory_usage(feed.key, samples=0)
    marker = redis.memory_usage(feed.built_key, samples=0)
    per_user = feed_bytes + marker
    return {
        'entries': redis.zcard(feed.key),
        'encoding': redis.object('encoding', feed.key).decode(),
        'zset_max_listpack_entries': int(
            redis.config_get('zset-max-listpack-entries')['zset-max-listpack-entries']
        ),
        'feed_bytes': feed_bytes,
        'marker_bytes': marker,
        'per_user_bytes': per_user,
        'mb_per_100k_users': per_user * 100_000 / 1e6,
    }


# -- one backend -----------------------------------------------------------------


def site_of(here, database, prefix, queues, runner, sizes: Sizes):
    """The sample app plugged with the stock FeedManager and the bench's Redis prefix."""
    return Site(
        here,
        database,
        support.free_port(),
        BROKERS['rabbitmq'],
        queues,
        delivery_runner=runner,
        feed_manager=MANAGER,
        redis_url=support.REDIS_URL,
        redis_prefix=prefix,
        feeds_fanout_threshold=sizes.followers,  # fanned out: not above the threshold
    )


def run_backend(here, backend: str, database: str, prefix: str, sizes: Sizes) -> dict:
    from activitystream.feeds.entries import entry_of
    from activitystream.storage.base import StreamFilter

    site = site_of(here, database, prefix, [], 'inline', sizes)
    bench = Bench(site, backend, sizes)
    t0 = time.perf_counter()
    star = bench.users('star', 1)[0]
    followers = bench.users('fol', sizes.followers)
    bench.follow([(f, star) for f in followers])
    actors = bench.users('act', sizes.following)
    posts = bench.posts(actors, 200)
    bench.actions(actors, sizes.per_actor, posts)
    prolific = bench.users('pro', 1)[0]
    bench.actions([prolific], sizes.follow_actions, posts)
    rebuilder = bench.users('reb', 1)[0]
    bench.follow([(rebuilder, a) for a in actors])
    readers = bench.users('read', sizes.readers)
    from activitystream import model

    with model.unit_of_work() as storage:
        pool = [
            entry_of(record)
            for actor in actors[:50]
            for record in storage.stream(
                StreamFilter(actor=bench.manager.user_ref(actor)), sizes.per_actor, 0
            )
        ]
    bench.activate(followers)
    out = {'setup_s': time.perf_counter() - t0}
    print(f'[{backend}] data written in {out["setup_s"]:.1f} s', flush=True)
    out['inserts'] = inserts(bench, followers)
    i = out['inserts']
    print(
        f'[{backend}] feed inserts/s: ours {i["ours_per_s"]:,.0f} '
        f'(no marker check {i["ours_unconditional_per_s"]:,.0f}), '
        f'floor {i["floor_per_s"]:,.0f}: {i["ratio"]:.2f}x',
        flush=True,
    )
    out['fanout_inline'] = f = fanout_inline(bench, star, followers, posts[0])
    print(
        f'[{backend}] fan-out to {len(followers):,}, inline: {f["ours"]["median_ms"]:.0f} ms, '
        f'floor {f["floor"]["median_ms"]:.0f} ms: {f["ratio"]:.2f}x',
        flush=True,
    )
    out['reads'] = r = reads(bench, readers, pool)
    print(
        f'[{backend}] reads p50/p99 ms: '
        + ', '.join(f'{k} {v["p50"]:.2f}/{v["p99"]:.2f}' for k, v in r.items()),
        flush=True,
    )
    out['follow'] = fw = follows(bench, prolific)
    print(
        f'[{backend}] follow of {fw["actions"]:,} actions: {fw["ours"]["median_ms"]:.1f} ms, '
        f'floor ZADD {fw["floor_zadd"]["median_ms"]:.1f} ms',
        flush=True,
    )
    out['memory'] = memory(bench)
    out['rebuild'] = rb = rebuilds(bench, rebuilder, prefix, len(actors))
    print(
        f'[{backend}] rebuild, first page following {len(actors)}: '
        f'{rb["first_page"]["median_ms"]:.0f} ms',
        flush=True,
    )
    transaction.abort()
    site.model.DBSession.remove()
    return out


# -- report ----------------------------------------------------------------------


def markdown(out: dict) -> str:
    s = out['sizes']
    lines = [
        '# Feeds benchmark (`python -m bench.feeds`)',
        '',
        f'{out["date"]}, commit {out["machine"]["commit"]}, {out["elapsed_s"]:.0f} s; '
        f'load average {out["loadavg_at_start"][0]:.1f} at the start, '
        f'{out["loadavg_at_end"][0]:.1f} at the end ({out["machine"]["cores"]} cores). '
        f'Medians of {s["reps"]}; floor: redis-py pipelines doing the same Redis work raw.',
        '',
    ]
    rows = []
    for backend, r in out['backends'].items():
        f, i, rd, fw, rb = (
            r['fanout_inline'],
            r['inserts'],
            r['reads'],
            r['follow'],
            r['rebuild'],
        )
        rows += [
            [backend, f'fan-out to {f["followers"]:,}, inline', f'{f["ours"]["median_ms"]:.0f} ms',
             f'{f["floor"]["median_ms"]:.0f} ms', f'{f["ratio"]:.2f}x'],
            [backend, f'feed inserts/s, run_chunk of {i["chunk"]:,}', f'{i["ours_per_s"]:,.0f}',
             f'{i["floor_per_s"]:,.0f}', f'{i["ratio"]:.2f}x (target 1.5x)'],
            [backend, 'read 25 ids, p50 / p99',
             f'{rd["ids"]["p50"]:.2f} / {rd["ids"]["p99"]:.2f} ms',
             f'{rd["floor_zrevrange"]["p50"]:.2f} / {rd["floor_zrevrange"]["p99"]:.2f} ms',
             f'{rd["ids"]["p50"] / rd["floor_zrevrange"]["p50"]:.2f}x'],
            [backend, 'read 25 hydrated actions, p50 / p99',
             f'{rd["hydrated"]["p50"]:.2f} / {rd["hydrated"]["p99"]:.2f} ms', 'ZREVRANGE', ''],
            [backend, 'get_feeds + 25 hydrated, p50 / p99',
             f'{rd["page"]["p50"]:.2f} / {rd["page"]["p99"]:.2f} ms', 'ZREVRANGE', ''],
            [backend, f'follow of an actor with {fw["actions"]:,} actions',
             f'{fw["ours"]["median_ms"]:.1f} ms', f'{fw["floor_zadd"]["median_ms"]:.1f} ms (ZADD)',
             f'{fw["ratio"]:.2f}x'],
            [backend, f'first page after a flush, following {rb["following"]}',
             f'{rb["first_page"]["median_ms"]:.0f} ms', '', 'target 200 ms'],
        ]  # fmt: skip
    if out.get('fanout_celery'):
        c = out['fanout_celery']
        rows.append(
            ['postgresql', f'fan-out to {c["followers"]:,}, {c["workers"]} Celery workers',
             f'{c["ours"]["median_ms"]:.0f} ms', f'{c["floor"]["median_ms"]:.0f} ms',
             f'{c["ratio"]:.2f}x']
        )  # fmt: skip
    lines.append(table(['backend', 'what', 'ours', 'floor', 'ours / floor'], rows))
    m = out['memory']
    lines += [
        '',
        f'Memory: a feed of {m["entries"]:,} entries ({m["encoding"]}) takes '
        f'{m["feed_bytes"]:,} bytes (zset-max-listpack-entries {m["zset_max_listpack_entries"]}), '
        f'its built marker {m["marker_bytes"]:,}: '
        f'{m["mb_per_100k_users"]:,.0f} MB per 100,000 active users (one feed each).',
        '',
    ]
    return '\n'.join(lines)


def parse(argv) -> tuple[argparse.Namespace, Sizes]:
    p = argparse.ArgumentParser(prog='python -m bench.feeds', description=__doc__)
    p.add_argument('--backends', default='sqlite,postgresql')
    p.add_argument('--out', default=str(RESULTS), help='directory of feeds.json and feeds.md')
    for field in dataclasses.fields(Sizes):
        p.add_argument(f'--{field.name.replace("_", "-")}', type=int, default=field.default)
    args = p.parse_args(argv)
    sizes = Sizes(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Sizes)})
    return args, sizes


def main(argv=None) -> dict:
    args, sizes = parse(argv)
    backends = [b.strip() for b in args.backends.split(',') if b.strip()]
    unknown = set(backends) - {'sqlite', 'postgresql'}
    if unknown:
        raise SystemExit(f'unknown backend(s): {", ".join(sorted(unknown))}')
    prefix = f'activitystream-bench-feeds-{os.getpid()}-{uuid.uuid4().hex[:6]}'
    redis = support.redis_client()
    started, loadavg = time.monotonic(), os.getloadavg()
    out = {'date': time.strftime('%Y-%m-%d %H:%M'), 'sizes': dataclasses.asdict(sizes)}
    out['redis_prefix'] = prefix
    out['backends'], queues, database = {}, [], None
    try:
        with tempfile.TemporaryDirectory() as here:
            here = pathlib.Path(here)
            for backend in backends:
                if backend == 'sqlite':
                    url = f'sqlite:///{here}/feeds.sqlite'
                else:
                    name = f'activitystream_bench_feeds_{os.getpid()}'
                    url = database = harness.new_postgresql_database(name)
                out['backends'][backend] = run_backend(here, backend, url, prefix, sizes)
                out['memory'] = out['backends'][backend].pop('memory')
            if database and sizes.workers:
                out['fanout_celery'] = c = fanout_celery(here, database, prefix, sizes, queues)
                print(
                    f'[postgresql] fan-out to {sizes.followers:,}, {sizes.workers} Celery '
                    f'workers: {c["ours"]["median_ms"]:.0f} ms, floor '
                    f'{c["floor"]["median_ms"]:.0f} ms: {c["ratio"]:.2f}x',
                    flush=True,
                )
    finally:
        from sampleapp import model as site_model

        from activitystream.delivery import stop_workers

        stop_workers(timeout=1)
        transaction.abort()
        site_model.DBSession.remove()
        if database:
            site_model.DBSession.get_bind().dispose()
            harness.drop_postgresql_database(database)
        delete_queues(queues)
        drop_keys(redis, prefix)
    out.update(
        elapsed_s=time.monotonic() - started,
        loadavg_at_start=loadavg,
        loadavg_at_end=os.getloadavg(),
        machine=machine(),
    )
    target = pathlib.Path(args.out)
    target.mkdir(parents=True, exist_ok=True)
    (target / 'feeds.json').write_text(json.dumps(out, indent=1, default=str))
    (target / 'feeds.md').write_text(markdown(out))
    print(f'written {target / "feeds.json"} and feeds.md in {out["elapsed_s"]:.0f} s')
    return out


if __name__ == '__main__':
    main()

"""What the feed tests share: an app writing feeds under this run's Redis prefix,
a round-trip counter, and a look at what a feed holds in Redis."""

import contextlib
import uuid

import pytest
from redis.connection import AbstractConnection

from . import subscription_support as support
from .harness import BACKENDS, build_app


def feeds_app(backend, redis_url=support.REDIS_URL, **options):
    """A host app on ``backend`` whose feed keys start with a prefix of their own."""
    prefix = f'{support.REDIS_PREFIX}:feeds:{uuid.uuid4().hex[:8]}'
    return build_app(backend, redis_url=redis_url, redis_prefix=prefix, **options)


@pytest.fixture(scope='module')
def redis():
    """The test Redis; this run's feed keys are deleted at the end."""
    client = support.redis_client()
    yield client
    support.drop_redis_keys(client)


@pytest.fixture(params=BACKENDS)
def env(request, redis):
    """A feeds app on each database backend."""
    return feeds_app(request.param)


@contextlib.contextmanager
def sends(record):
    """Call ``record(connection, command)`` for each request sent to Redis while the block runs.

    Each request is one write of packed commands (a pipeline's are one).
    """
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        record(self, command)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        yield
    finally:
        AbstractConnection.send_packed_command = original


@contextlib.contextmanager
def round_trips(redis):
    """The requests sent to Redis while the block runs (a pipeline sends one).

    A ping first, so that ``redis`` (the client the block uses) has a connection ready.
    """
    redis.ping()
    sent = []
    with sends(lambda _, command: sent.append(command)):
        yield sent


def snapshot(redis, prefix):
    """{key: value} of every key under ``prefix``: the whole state of the feeds.

    A sorted set's value is its [(member, score)], a hash's its {field: value}
    (a DUMP of a large hash follows its table's rehashing, which reads move on),
    any other key's its dump.
    """
    keys = sorted(redis.scan_iter(match=f'{prefix}*', count=1000))
    read = {
        b'zset': lambda key: redis.zrange(key, 0, -1, withscores=True),
        b'hash': redis.hgetall,
    }
    return {key: read.get(redis.type(key), redis.dump)(key) for key in keys}


def delete_actions(env, ids):
    """Delete actions from the database behind the package's back, as a host's cleanup might."""
    from activitystream import model

    if env.backend in ('sqlite', 'postgresql'):
        from zope.sqlalchemy import mark_changed

        table = model.Action.__table__
        env.model.DBSession.execute(table.delete().where(table.c.id.in_(ids)))
        mark_changed(env.model.DBSession())  # a Core statement: tell the transaction it wrote
        env.commit()
    else:
        from activitystream.storage.ming.schema import ACTIONS

        env.db[ACTIONS].delete_many({'_id': {'$in': list(ids)}})

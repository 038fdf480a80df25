"""django-subscription's README, run as written against our API and a real Redis.

Only the names change: ``Subscription.objects`` is ``subscriptions``,
``subscription.backends`` is ``activitystream.subscriptions.backends``,
``user.pk`` is the entity's primary key, and the keys get this test run's
prefix so that runs never share them.
"""

# ruff: noqa: UP031 - the README's own %-formatting, kept as written
import datetime
import json
import time

import pytest
from tgext.pluggable import instance_primary_key

from activitystream import subscriptions as Subscription_objects
from activitystream.subscriptions import backends

from . import subscription_support as support
from .harness import BACKENDS, build_app

ACTSTREAM = support.REDIS_PREFIX + ':actstream'


def Redis():  # the README's ``from .utils import Redis``
    return support.redis_client()


class ActStream(backends.BaseBackend):
    def emit(self, user, text, **kwargs):
        conn = Redis()
        item = json.dumps((time.mktime(datetime.datetime.now().timetuple()), text))
        conn.lpush(ACTSTREAM + '::%s::undelivered' % instance_primary_key(user), item)


def user_stream(user, clear_undelivered=False):
    def deserialize_stream(stream):
        stream_redux = []
        if not stream:
            return stream_redux
        for s in stream:
            s = json.loads(s)
            stream_redux.append((datetime.datetime.fromtimestamp(s[0]), s[1]))
        return stream_redux

    pk = instance_primary_key(user)
    conn = Redis()
    if clear_undelivered:
        undelivered = conn.lrange(ACTSTREAM + '::%s::undelivered' % pk, 0, -1)
        if undelivered:
            for u in reversed(undelivered):  # Flip em around so recent is done last
                conn.lpush(ACTSTREAM + '::%s::unacknowledged' % pk, u)
        conn.delete(ACTSTREAM + '::%s::undelivered' % pk)

    groups = {}
    groups['acknowledged'] = deserialize_stream(
        conn.lrange(ACTSTREAM + '::%s::acknowledged' % (pk), 0, -1)
    )
    groups['unacknowledged'] = deserialize_stream(
        conn.lrange(ACTSTREAM + '::%s::unacknowledged' % (pk), 0, -1)
    )
    groups['undelivered'] = deserialize_stream(
        conn.lrange(ACTSTREAM + '::%s::undelivered' % (pk), 0, -1)
    )
    return groups


@pytest.fixture(params=BACKENDS)
def env(request):
    redis = support.redis_client()
    # SUBSCRIPTION_BACKENDS = {'redis': 'myproject.subscription_backends.Redis'}
    yield build_app(
        request.param,
        subscription_backends={
            'redis': 'tests.test_subscriptions_seed_readme.ActStream',
            'builtin': 'activitystream.subscriptions.backends.RedisBackend',
        },
        redis_url=support.REDIS_URL,
        redis_prefix=support.REDIS_PREFIX + ':builtin:' + request.param,
    )
    support.drop_redis_keys(redis)


def test_subscribing_and_emitting_as_the_readme_does(env):
    user, other = env.user('bob'), env.user('carol')
    content_object = env.document('Some thing')

    Subscription_objects.subscribe(user, content_object)  # Subscribes a user

    Subscription_objects.emit('Some thing happened to this object!', subscribers_of=content_object)
    env.commit()

    stream = user_stream(user)
    assert [text for _, text in stream['undelivered']] == ['Some thing happened to this object!']
    assert user_stream(other) == {'acknowledged': [], 'unacknowledged': [], 'undelivered': []}

    cleared = user_stream(user, clear_undelivered=True)
    assert cleared['undelivered'] == []
    assert [text for _, text in cleared['unacknowledged']] == [
        'Some thing happened to this object!'
    ]


def test_our_redis_backend_keeps_the_readme_semantics(env):
    """The built-in user_stream answers what the README's answers, for the same emits."""
    user = env.user('bob')
    content_object = env.document('Some thing')
    Subscription_objects.subscribe(user, content_object)
    for n in (1, 2, 3):
        Subscription_objects.emit(f'event {n}', subscribers_of=content_object)
    env.commit()

    def texts(groups):
        return {name: [text for _, text in items] for name, items in groups.items()}

    assert texts(Subscription_objects.user_stream(user)) == texts(user_stream(user))
    assert texts(Subscription_objects.user_stream(user, clear_undelivered=True)) == texts(
        user_stream(user, clear_undelivered=True)
    )
    assert texts(Subscription_objects.user_stream(user))['unacknowledged'] == [
        'event 3',
        'event 2',
        'event 1',
    ]

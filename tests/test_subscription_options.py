"""Subscription plug options: backends by dotted path, checked when plug() is called."""

import pytest

from activitystream import ConfigurationError, model, storage, subscriptions
from activitystream.storage.base import Ref
from activitystream.subscriptions.backends import ActivityStreamBackend, BaseBackend

from . import subscription_support as support
from .harness import BACKENDS, build_app
from .test_plug import plug_into_fresh_config


class NoEmit(BaseBackend):
    """Forgot to implement emit()."""


@pytest.mark.parametrize(
    'options, words',
    [
        (dict(subscription_backends=['email']), 'subscription_backends must be a dict'),
        (
            dict(subscription_backends={'x': 'tests.nowhere.Backend'}),
            r"subscription_backends\['x'\]: cannot import 'tests.nowhere.Backend': "
            "No module named 'tests.nowhere'",
        ),
        (
            dict(subscription_backends={'x': 'tests.subscription_support.Nobody'}),
            "module 'tests.subscription_support' has no 'Nobody'",
        ),
        (dict(subscription_backends={'x': 'Backend'}), 'cannot import .*: not a dotted path'),
        (
            dict(subscription_backends={'x': 'tests.subscription_support.free_port'}),
            'is not a subclass of activitystream.subscriptions.BaseBackend',
        ),
        (dict(subscription_backends={'x': NoEmit}), 'NoEmit does not implement emit'),
        (dict(subscription_backends={'no good': NoEmit}), 'the name must be an identifier'),
        (dict(redis_url='http://localhost'), 'redis_url must be a redis://'),
        (dict(redis_prefix=''), 'redis_prefix must be a non-empty string'),
        (dict(redis_url='redis://h:7000/1?cluster=true'), 'redis_url: a cluster has database 0'),
        (dict(redis_url='redis://h:7000?db=2&cluster=true'), 'redis_url: a cluster has database 0'),
        (dict(redis_url='unix:///tmp/r.sock?cluster=true'), 'redis_url: a cluster is reached by'),
        (dict(redis_url='redis://h:7000?cluster=yes'), r'redis_url: \?cluster= must be given once'),
        (
            dict(redis_url='redis://h:7000?cluster=true', redis_prefix='site{1}'),
            'redis_prefix must not hold braces with a Redis Cluster',
        ),
        (dict(redis_stream_length=0), 'redis_stream_length must be a positive integer'),
        (dict(redis_stream_length=True), 'redis_stream_length must be a positive integer'),
        (dict(email_address_attribute='e-mail'), 'email_address_attribute must be an attr'),
        (dict(email_subject='{user}'), 'email_subject must be a format string using only'),
        (dict(email_subject=None), 'email_subject must be a format string'),
        (dict(email_renderer='jinja'), 'email_renderer must be one of kajiki, genshi'),
        (dict(email_template='notification'), 'email_template must be a dotted template'),
    ],
)
def test_bad_subscription_options_fail_at_plug_time(options, words):
    with pytest.raises(ConfigurationError, match=words):
        plug_into_fresh_config(**options)


def test_the_default_backend_stores_notifications():
    build_app('sqlite')
    assert model.options()['subscription_backends'] == {'activitystream': ActivityStreamBackend}
    assert model.options()['redis_url'] == 'redis://127.0.0.1:6379/0'


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_custom_backend_by_dotted_path_or_class(backend):
    support.deliveries.clear()
    env = build_app(
        backend,
        subscription_backends={
            'dotted': 'tests.subscription_support.Recorder',
            'colon': 'tests.subscription_support:LaterRecorder',
            'given': support.Recorder,
        },
    )
    subscriptions.emit('hello', send_only_to=env.user('bob'))
    env.commit()
    assert sorted(name for name, *_ in support.deliveries) == ['colon', 'dotted', 'given']


def test_emit_says_when_nothing_is_plugged(monkeypatch):
    monkeypatch.setattr(storage, '_storage', None)
    with pytest.raises(ConfigurationError, match='activitystream is not plugged: call plug'):
        subscriptions.emit('x', subscribers_of=Ref('Document', '1'))

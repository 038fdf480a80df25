"""Subscription backends: the ways ``subscriptions.emit()`` delivers.

Configure them with the ``subscription_backends`` plug option, like
django-subscription's ``SUBSCRIPTION_BACKENDS``::

    plug(base_config, 'activitystream', subscription_backends={
        'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
        'email': 'activitystream.subscriptions.backends.EmailBackend',
        'redis': 'activitystream.subscriptions.backends.RedisBackend',
        'sms': 'myapp.lib.notify.SmsBackend',        # your own BaseBackend subclass
    })
"""

from .actions import ActivityStreamBackend
from .base import BaseBackend
from .mail import EmailBackend
from .redis_lists import RedisBackend

__all__ = ['ActivityStreamBackend', 'BaseBackend', 'EmailBackend', 'RedisBackend']

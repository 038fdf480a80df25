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

import inspect
from typing import Any

from ...options import IDENTIFIER, ConfigurationError, current, imported
from .actions import ActivityStreamBackend
from .base import BaseBackend
from .mail import EmailBackend
from .redis_lists import RedisBackend

__all__ = [
    'ActivityStreamBackend',
    'BaseBackend',
    'EmailBackend',
    'RedisBackend',
    'configured_backends',
    'resolve_backends',
]


def resolve_backends(backends: Any) -> dict[str, type[BaseBackend]]:
    """{name: backend class} from {name: dotted path or class}; ConfigurationError naming it.

    plugme calls it, so a bad backend fails at plug time.
    """
    if not isinstance(backends, dict):
        raise ConfigurationError(
            'activitystream option subscription_backends must be a dict of name -> dotted path'
        )
    resolved: dict[str, type[BaseBackend]] = {}
    for name, path in backends.items():
        where = f'activitystream option subscription_backends[{name!r}]'
        if not (isinstance(name, str) and IDENTIFIER.match(name)):
            raise ConfigurationError(f'{where}: the name must be an identifier')
        cls = imported(where, path) if isinstance(path, str) else path
        if not (isinstance(cls, type) and issubclass(cls, BaseBackend)):
            raise ConfigurationError(
                f'{where}: {path!r} is not a subclass of activitystream.subscriptions.BaseBackend'
            )
        if inspect.isabstract(cls):
            raise ConfigurationError(f'{where}: {cls.__name__} does not implement emit()')
        resolved[name] = cls
    return resolved


def configured_backends() -> dict[str, type[BaseBackend]]:
    """The backends of the running application (options validated again may hold paths)."""
    return resolve_backends(current()['subscription_backends'])

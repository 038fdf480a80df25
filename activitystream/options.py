"""Plug options: defaults and validation at plug time.

``plug(base_config, 'activitystream', **options)`` fails right there, naming
the option, when an option is unknown or malformed. The delivery backends of
``subscription_backends`` are imported and checked by plugme
(``subscriptions.backends.resolve_backends``): this module imports no layer above it.
"""

import importlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import tg

from .redis_client import cluster_url

if TYPE_CHECKING:
    from .feeds import FeedManager

BLUEPRINT_KEY = '_pluggable_activitystream_config'
NOT_PLUGGED = (
    "activitystream is not plugged: call plug(base_config, 'activitystream') "
    'in your config/app_cfg.py and start the application first'
)


class ConfigurationError(ValueError):
    """activitystream was plugged or configured in a way it cannot work with."""


# tgext.pluggable's own options, passed through untouched
PLUGGABLE = {
    'appid': None,
    'plug_models': True,
    'plug_helpers': True,
    'plug_controller': True,
    'plug_bootstrap': True,
    'plug_statics': True,
    'rename_tables': False,
    'global_models': False,
    'global_helpers': False,
    'static_middlewares': None,
}

DEFAULTS = {
    # 'auto' follows the host's use_sqlalchemy / use_ming
    'backend': 'auto',
    # the recipient attribute holding the last-seen time, when its class has it
    'seen_attribute': 'last_activity_seen',
    # how far back unseen and unread counts look (a timedelta, or a number of days)
    'unseen_window': timedelta(days=30),
    # leave out of pages (inbox, streams) the actions whose actor the host deleted;
    # counts still count them (erase the actor, am.erase, to take them away for good)
    'hide_orphans': False,
    # PostgreSQL through psycopg2: the inbox page and its counts run as server-side
    # prepared statements (planned once per connection); False behind a pooler that
    # shares server connections per transaction (PgBouncer's transaction mode)
    'prepared_statements': True,
    # who may read the public streams of an entity (actor, target, object): a
    # callable (or its dotted path) of (request identity or None, entity)
    # answering True (the default rule), False (refused) or 'everything'
    'stream_access': None,
    # whether anonymous requests may read the public streams at all
    'anonymous_streams': True,
    # who does the outbox's work (see activitystream.delivery): 'inline' right
    # after the commit in the committing thread, 'thread' a background worker,
    # 'celery' tasks on a Celery app (activitystream.delivery.celery)
    'delivery_runner': 'thread',
    # the 'celery' runner: your Celery app (or its dotted path, 'myapp.worker:celery'),
    # or else the broker URL of an app of ours; the queue its drain tasks go to
    'celery_app': None,
    'celery_broker_url': None,
    'celery_queue': 'activitystream',
    # jobs claimed at once, seconds a claim lasts, attempts before a job is a
    # dead letter, seconds before the first retry (doubling after), seconds
    # between the background worker's looks at the outbox
    'delivery_batch': 10,
    'delivery_lease': 300,
    'delivery_max_attempts': 8,
    'delivery_backoff': 30,
    'delivery_poll': 5,
    # emit(): recipients expanded per job step, and the audience up to which the
    # activitystream backend still writes the notifications inside the request
    'emit_page_size': 1000,
    'emit_inline_limit': 1000,
    # the names references store for host classes, instead of the class name:
    # {'name': class or its dotted path}; a class may say its own with
    # __activitystream_type__ (see activitystream.entities)
    'entity_types': {},
    # subscriptions.emit() delivers through these: name -> dotted path (or class)
    'subscription_backends': {
        'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
    },
    # Redis (feeds, live updates, the redis subscription backend): server, key
    # prefix, items kept per list. A Redis Cluster is named by one of its nodes
    # and ?cluster=true: 'redis://10.0.0.5:7000/0?cluster=true'
    'redis_url': 'redis://127.0.0.1:6379/0',
    'redis_prefix': 'activitystream',
    'redis_stream_length': 100,
    # the email subscription backend: the recipient's address attribute, the
    # subject (a format string of the text), and the body templates
    'email_address_attribute': 'email_address',
    'email_subject': '{text}',
    'email_renderer': 'kajiki',
    'email_template': 'activitystream.templates.email.notification',
    # notification kinds the host declares: kind (a verb, or emit's kind=) ->
    # {'label': shown on the settings page, 'channels': defaults among web, email, digest}
    'notification_kinds': {},
    # digests: the period of recipients who chose none ('daily' or 'weekly'), the
    # subject (a format string of {count} and {period}), the templates, items per digest
    'digest_period': 'daily',
    'digest_subject': None,  # None: "Your daily digest: 4 notifications", translated
    'digest_template': 'activitystream.templates.email.digest',
    'digest_max_items': 200,
    # how mails leave: 'smtp' (the activitystream.smtp_* settings) or 'tgext.mailer'
    # (the site's own mailer, which sends when the transaction commits)
    'mail_transport': 'smtp',
    # events streams open at once, each holding a server thread: per user, and in
    # this process (None: a quarter of the server's threads when it tells, else 4);
    # more are refused (429) and the page polls unseen_count.json instead
    'events_per_user': 2,
    'events_per_process': None,
    # fan-out feeds (activitystream.feeds): the FeedManager (a subclass, an
    # instance or its dotted path) that am.create, subscribe and unsubscribe
    # keep up to date; None: feeds are written only by the host's own calls
    'feed_manager': None,
    # actors with more followers than this are not fanned out to: readers merge
    # their recent actions when they read (0: always fan out)
    'feeds_fanout_threshold': 10_000,
    # readers who have not read their feeds for this many days get no fan-out;
    # their feeds are written again from the database when next read (0: never)
    'feeds_inactive_days': 30,
    # the notification menu shows consecutive notifications with the same verb and
    # target within this window as one row (a timedelta or a number of days; 0: never)
    'group_window': timedelta(days=1),
    # where the menu's "See all" goes: None for our own page (/activitystream/all),
    # or the path of the host's page (one that renders partials.notifications_page)
    'notifications_page_url': None,
}
EMAIL_RENDERERS = ('kajiki', 'genshi')
CHANNELS = ('web', 'email', 'digest')
PERIODS = ('daily', 'weekly')
MAIL_TRANSPORTS = ('smtp', 'tgext.mailer')
MAX_KIND = 255
REDIS_SCHEMES = ('redis://', 'rediss://', 'unix://')

BACKENDS = ('auto', 'sqlalchemy', 'ming')
RUNNERS = ('inline', 'thread', 'celery')
_APPID = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$')
IDENTIFIER = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
# an entity type name: what the endpoints take in URLs and the type columns hold
TYPE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,127}$')


def current() -> dict[str, Any]:
    """The validated plug options of the running application."""
    return tg.config.get(BLUEPRINT_KEY, DEFAULTS)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(
            f'activitystream option {name} must be True or False, got {value!r}'
        )


def _check_positive(name: str, value: Any, or_none: bool = False, zero: bool = False) -> None:
    if value is None and or_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        what = 'a non-negative integer' if zero else 'a positive integer'
        what += ' or None' if or_none else ''
        raise ConfigurationError(f'activitystream option {name} must be {what}, got {value!r}')


def _check_seconds(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(
            f'activitystream option {name} must be a positive number of seconds, got {value!r}'
        )


def validate(options: dict[str, Any]) -> dict[str, Any]:
    """Return the full option set, or raise ConfigurationError naming the bad option."""
    unknown = sorted(set(options) - set(PLUGGABLE) - set(DEFAULTS))
    if unknown:
        known = ', '.join(sorted(set(PLUGGABLE) | set(DEFAULTS)))
        raise ConfigurationError(
            f'unknown activitystream option {unknown[0]!r}; known options: {known}'
        )
    merged = {**DEFAULTS, **options}
    appid = merged.get('appid')
    if appid is not None and not (isinstance(appid, str) and _APPID.match(appid)):
        raise ConfigurationError(
            f'activitystream option appid must be a dotted Python identifier, got {appid!r}'
        )
    for name, default in PLUGGABLE.items():
        if isinstance(default, bool) and name in merged:
            _check_bool(name, merged[name])
    middlewares = merged.get('static_middlewares')
    if middlewares is not None and not isinstance(middlewares, (list, tuple)):
        raise ConfigurationError('activitystream option static_middlewares must be a list')
    if merged['backend'] not in BACKENDS:
        raise ConfigurationError(
            f'activitystream option backend must be one of {", ".join(BACKENDS)}, '
            f'got {merged["backend"]!r}'
        )
    attr = merged['seen_attribute']
    if not (isinstance(attr, str) and IDENTIFIER.match(attr)):
        raise ConfigurationError(
            f'activitystream option seen_attribute must be an attribute name, got {attr!r}'
        )
    _check_bool('anonymous_streams', merged['anonymous_streams'])
    _check_bool('hide_orphans', merged['hide_orphans'])
    _check_bool('prepared_statements', merged['prepared_statements'])
    if merged['delivery_runner'] not in RUNNERS:
        raise ConfigurationError(
            f'activitystream option delivery_runner must be one of {", ".join(RUNNERS)}, '
            f'got {merged["delivery_runner"]!r}'
        )
    if merged['delivery_runner'] == 'celery':
        _check_celery(merged)
    for name in ('delivery_batch', 'delivery_lease', 'delivery_max_attempts', 'emit_page_size'):
        _check_positive(name, merged[name])
    _check_positive('emit_inline_limit', merged['emit_inline_limit'], zero=True)
    for name in ('delivery_backoff', 'delivery_poll'):
        _check_seconds(name, merged[name])
    merged['unseen_window'] = _window(merged['unseen_window'])
    merged['group_window'] = _group_window(merged['group_window'])
    page_url = merged['notifications_page_url']
    if page_url is not None and not (isinstance(page_url, str) and page_url.startswith('/')):
        raise ConfigurationError(
            f'activitystream option notifications_page_url must be a path or None, got {page_url!r}'
        )
    merged['stream_access'] = _callable('stream_access', merged['stream_access'])
    merged['entity_types'] = _entity_types(merged['entity_types'])
    _check_positive('events_per_user', merged['events_per_user'])
    _check_positive('events_per_process', merged['events_per_process'], or_none=True)
    _check_subscription_options(merged)
    _check_positive('feeds_fanout_threshold', merged['feeds_fanout_threshold'], zero=True)
    _check_positive('feeds_inactive_days', merged['feeds_inactive_days'], zero=True)
    merged['feed_manager'] = _feed_manager(merged['feed_manager'])
    return merged


def _feed_manager(value: Any) -> 'FeedManager | None':
    """The FeedManager instance of the ``feed_manager`` option (or None)."""
    if value is None:
        return None
    from .feeds import FeedManager  # needs redis: only for sites with feeds

    if isinstance(value, str):
        value = imported('activitystream option feed_manager', value)
    if isinstance(value, type) and issubclass(value, FeedManager):
        value = value()
    if not isinstance(value, FeedManager):
        raise ConfigurationError(
            f'activitystream option feed_manager must be a FeedManager, got {value!r}'
        )
    return value


def _check_celery(merged: dict[str, Any]) -> None:
    """The ``celery`` runner needs Celery and an app: the host's, or one made from a broker URL."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigurationError(
            "activitystream option delivery_runner 'celery' needs Celery: "
            "pip install 'tgapp-activitystream[celery]'"
        ) from None
    app, url = merged['celery_app'], merged['celery_broker_url']
    if app is None and url is None:
        raise ConfigurationError(
            'activitystream option celery_app (your Celery app or its dotted path) or '
            "celery_broker_url (for an app of ours) is needed with delivery_runner 'celery'"
        )
    if app is not None and url is not None:
        raise ConfigurationError(
            'activitystream option celery_broker_url cannot go with celery_app: '
            'your app has its broker'
        )
    if isinstance(app, str):
        app = merged['celery_app'] = imported('activitystream option celery_app', app)
    if app is not None and not isinstance(app, Celery):
        raise ConfigurationError(
            f'activitystream option celery_app must be a Celery app or its dotted path, got {app!r}'
        )
    if url is not None and not (isinstance(url, str) and '://' in url):
        raise ConfigurationError(
            f'activitystream option celery_broker_url must be a broker URL, got {url!r}'
        )
    queue = merged['celery_queue']
    if not (isinstance(queue, str) and queue.strip()):
        raise ConfigurationError(
            f'activitystream option celery_queue must be a queue name, got {queue!r}'
        )


def _group_window(value: Any) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(days=value)
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ConfigurationError(
            'activitystream option group_window must be a non-negative timedelta or number of '
            f'days, got {value!r}'
        )
    return value


def _window(value: Any) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = timedelta(days=value)
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(
            'activitystream option unseen_window must be a positive timedelta or number of days, '
            f'got {value!r}'
        )
    return value


def _callable(name: str, value: Any) -> Callable[..., Any] | None:
    """``value`` as a callable (imported when it is a dotted path), or None."""
    if isinstance(value, str):
        try:
            value = import_dotted(value)
        except ImportError as exc:
            raise ConfigurationError(f'activitystream option {name}: {exc}') from None
    if value is not None and not callable(value):
        raise ConfigurationError(
            f'activitystream option {name} must be a callable or its dotted path, got {value!r}'
        )
    return value


def import_dotted(path: str) -> Any:
    """The object named by ``pkg.module.Name`` or ``pkg.module:Name``."""
    module, _, name = path.replace(':', '.').rpartition('.')
    if not module:
        raise ImportError('not a dotted path')
    try:
        return getattr(importlib.import_module(module), name)
    except AttributeError:
        raise ImportError(f'module {module!r} has no {name!r}') from None


def imported(where: str, path: str) -> Any:
    """The object of dotted ``path``, for the option ``where`` names; its error says why not."""
    try:
        return import_dotted(path)
    except ImportError as exc:
        raise ConfigurationError(f'{where}: cannot import {path!r}: {exc}') from None


def _entity_types(value: Any) -> dict[str, type]:
    """{type name: class} of the ``entity_types`` option (classes or their dotted paths)."""
    if not isinstance(value, dict):
        raise ConfigurationError(
            'activitystream option entity_types must be a dict of type name -> class or '
            f'its dotted path, got {value!r}'
        )
    named: dict[str, type] = {}
    for name, cls in value.items():
        where = f'activitystream option entity_types[{name!r}]'
        if not (isinstance(name, str) and TYPE_NAME.match(name)):
            raise ConfigurationError(
                f'{where}: the name must be 1 to 128 letters, digits or underscores, '
                'not starting with a digit'
            )
        if isinstance(cls, str):
            cls = imported(where, cls)
        if not isinstance(cls, type):
            raise ConfigurationError(f'{where} must be a class or its dotted path, got {cls!r}')
        taken = [n for n, c in named.items() if c is cls]
        if taken:
            raise ConfigurationError(f'{where}: {cls.__name__} is named {taken[0]!r} already')
        named[name] = cls
    return named


def _check_subscription_options(merged: dict[str, Any]) -> None:
    url = merged['redis_url']
    if not (isinstance(url, str) and url.startswith(REDIS_SCHEMES)):
        raise ConfigurationError(
            f'activitystream option redis_url must be a redis://, rediss:// or unix:// URL, '
            f'got {url!r}'
        )
    try:
        _, cluster = cluster_url(url)
    except ValueError as exc:
        raise ConfigurationError(f'activitystream option redis_url: {exc}') from None
    prefix = merged['redis_prefix']
    if not (isinstance(prefix, str) and prefix):
        raise ConfigurationError('activitystream option redis_prefix must be a non-empty string')
    if cluster and ('{' in prefix or '}' in prefix):
        raise ConfigurationError(
            'activitystream option redis_prefix must not hold braces with a Redis Cluster '
            f'(a hash tag would put every key in one slot), got {prefix!r}'
        )
    _check_positive('redis_stream_length', merged['redis_stream_length'])
    attr = merged['email_address_attribute']
    if not (isinstance(attr, str) and IDENTIFIER.match(attr)):
        raise ConfigurationError(
            f'activitystream option email_address_attribute must be an attribute name, got {attr!r}'
        )
    try:
        merged['email_subject'].format(text='')
    except (AttributeError, IndexError, KeyError, ValueError):
        raise ConfigurationError(
            'activitystream option email_subject must be a format string using only {text}, '
            f'got {merged["email_subject"]!r}'
        ) from None
    if merged['email_renderer'] not in EMAIL_RENDERERS:
        raise ConfigurationError(
            f'activitystream option email_renderer must be one of {", ".join(EMAIL_RENDERERS)}, '
            f'got {merged["email_renderer"]!r}'
        )
    for name in ('email_template', 'digest_template'):
        template = merged[name]
        if not (isinstance(template, str) and _APPID.match(template) and '.' in template):
            raise ConfigurationError(
                f'activitystream option {name} must be a dotted template name, got {template!r}'
            )
    merged['notification_kinds'] = _kinds(merged['notification_kinds'])
    _check_digest_options(merged)


def kind_problem(kind: Any) -> str | None:
    """What is wrong with ``kind`` as a notification kind, or None."""
    if not isinstance(kind, str):
        return f'must be a string, got {type(kind).__name__}'
    if not kind.strip() or len(kind) > MAX_KIND:
        return f'must be 1 to {MAX_KIND} characters, not blank'
    if kind.startswith('*'):
        return 'must not start with * (kept for the package)'
    return None


def channels_problem(channels: Any) -> str | None:
    """What is wrong with ``channels`` (a list of CHANNELS), or None."""
    if isinstance(channels, (str, bytes, dict)) or not isinstance(channels, (list, tuple, set)):
        return f'must be a list of {", ".join(CHANNELS)}, got {channels!r}'
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        return f'has {unknown[0]!r}, not one of {", ".join(CHANNELS)}'
    return None


def _kinds(kinds: Any) -> dict[str, dict[str, Any]]:
    """{kind: {'label': str, 'channels': tuple}} of the ``notification_kinds`` option."""
    if not isinstance(kinds, dict):
        raise ConfigurationError(
            'activitystream option notification_kinds must be a dict of kind -> '
            f"{{'label': ..., 'channels': [...]}}, got {kinds!r}"
        )
    checked: dict[str, dict[str, Any]] = {}
    for kind, spec in kinds.items():
        where = f'activitystream option notification_kinds[{kind!r}]'
        problem = kind_problem(kind)
        if problem:
            raise ConfigurationError(f'{where}: the kind {problem}')
        if not isinstance(spec, dict):
            raise ConfigurationError(f"{where} must be a dict with 'label' and 'channels'")
        unknown = sorted(set(spec) - {'label', 'channels'})
        if unknown:
            raise ConfigurationError(f'{where}: unknown key {unknown[0]!r} (label, channels)')
        label = spec.get('label', kind)
        if not (isinstance(label, str) and label.strip()):
            raise ConfigurationError(f'{where}: label must be a non-empty string, got {label!r}')
        channels = spec.get('channels', ['web', 'email'])
        problem = channels_problem(channels)
        if problem:
            raise ConfigurationError(f'{where}: channels {problem}')
        checked[kind] = {'label': label, 'channels': tuple(c for c in CHANNELS if c in channels)}
    return checked


def _check_digest_options(merged: dict[str, Any]) -> None:
    if merged['digest_period'] not in PERIODS:
        raise ConfigurationError(
            f'activitystream option digest_period must be one of {", ".join(PERIODS)}, '
            f'got {merged["digest_period"]!r}'
        )
    try:
        if merged['digest_subject'] is not None:
            merged['digest_subject'].format(count=0, period='daily')
    except (AttributeError, IndexError, KeyError, ValueError):
        raise ConfigurationError(
            'activitystream option digest_subject must be a format string using only '
            f'{{count}} and {{period}}, got {merged["digest_subject"]!r}'
        ) from None
    _check_positive('digest_max_items', merged['digest_max_items'])
    if merged['mail_transport'] not in MAIL_TRANSPORTS:
        raise ConfigurationError(
            f'activitystream option mail_transport must be one of {", ".join(MAIL_TRANSPORTS)}, '
            f'got {merged["mail_transport"]!r}'
        )

"""Plug options: defaults and validation at plug time.

``plug(base_config, 'activitystream', **options)`` fails right there, naming
the option, when an option is unknown or malformed.
"""

import re

BLUEPRINT_KEY = '_pluggable_activitystream_config'


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
}

BACKENDS = ('auto', 'sqlalchemy', 'ming')
_APPID = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$')
_IDENTIFIER = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ConfigurationError(
            f'activitystream option {name} must be True or False, got {value!r}'
        )


def validate(options):
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
    if not (isinstance(attr, str) and _IDENTIFIER.match(attr)):
        raise ConfigurationError(
            f'activitystream option seen_attribute must be an attribute name, got {attr!r}'
        )
    return merged

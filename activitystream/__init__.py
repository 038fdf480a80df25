"""activitystream: activity streams and notifications for TurboGears2.

Plug it in your ``config/app_cfg.py``::

    from tgext.pluggable import plug
    plug(base_config, 'activitystream')

then ``from activitystream import am`` and ``am.create(actor, 'commented', ...)``.
"""

from typing import Any

from tg.configuration import milestones

from .manager import ActionManager, am
from .options import BLUEPRINT_KEY, ConfigurationError, validate
from .storage.base import Ref

__all__ = ['ActionManager', 'ConfigurationError', 'Ref', 'am', 'plugme']

RENDERERS = ('json', 'kajiki', 'genshi')


def plugme(app_config: Any, options: dict[str, Any]) -> dict[str, Any]:
    """Called by ``tgext.pluggable.plug``: validate options and prepare the host config.

    The backend is chosen when TG's configuration is ready (``storage.configure``).
    """
    from . import storage
    from .subscriptions.backends import resolve_backends

    options = validate(options)
    options['subscription_backends'] = resolve_backends(options['subscription_backends'])
    app_config.update_blueprint({BLUEPRINT_KEY: options})
    milestones.config_ready.register(storage.configure)
    try:
        renderers = list(app_config.get_blueprint_value('renderers'))
    except KeyError:
        renderers = ['json']
    renderers += [r for r in RENDERERS if r not in renderers]
    app_config.update_blueprint({'renderers': renderers})
    return dict(appid='activitystream', global_helpers=False)

"""The TG2 host applications that the tests and the bench plug activitystream into.

One TG package for every host app (root controller, templates, globals, helpers);
the model is each app's own choice (:mod:`hosts.models`: the tests' or the bench's,
on SQLAlchemy or Ming) and :mod:`hosts.app` builds the app. Not shipped: the wheel
holds ``activitystream`` only.
"""

import tg

from . import controllers, lib, websetup  # noqa: F401 - TG looks them up as attributes
from .lib import app_globals, helpers  # noqa: F401


def __getattr__(name: str) -> object:
    """``hosts.model``: the model of the app being configured (its blueprint's ``model``).

    TG and tgext.pluggable read a host's model from its package (tgext.pluggable merges
    activitystream's tables into ``<package>.model``); here each app names its own.
    """
    model = tg.config.get('model') if name == 'model' else None
    if model is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return model

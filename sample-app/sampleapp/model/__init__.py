"""The model, whichever the database: ``use(backend)`` fills in this module.

``sampleapp.backend`` in the ini file picks ``sqlalchemy`` (:mod:`.sqla`) or
``ming`` (:mod:`.mongo`); both define the same classes (User, Post, Comment,
Follow) and the same few query functions, so the rest of the site, and
activitystream through ``tgext.pluggable.app_model``, only ever use
``sampleapp.model.<name>``. :func:`use` runs before TG reads ``DBSession``,
``init_model`` or ``metadata`` from here (see config/app_cfg.py).
"""

import importlib

BACKENDS = {'sqlalchemy': '.sqla', 'ming': '.mongo'}
# what both backends define (their ``__all__``), which the site reads from here
NAMES = (
    'DBSession',
    'init_model',
    'create_schema',
    'User',
    'Post',
    'Comment',
    'Follow',
    'save',
    'delete',
    'find_user',
    'get_post',
    'all_users',
    'latest_posts',
    'comments_of',
    'followers_of',
    'find_follow',
)
backend = None
_names = ()


def use(name):
    """Make this module the model of backend ``name``."""
    global backend, _names
    if name not in BACKENDS:
        raise ValueError(f'sampleapp.backend must be one of {", ".join(BACKENDS)}, got {name!r}')
    module = importlib.import_module(BACKENDS[name], __name__)
    for old in _names:
        globals().pop(old, None)
    globals().update({n: getattr(module, n) for n in module.__all__})
    backend, _names = name, tuple(module.__all__)

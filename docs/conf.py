"""Sphinx configuration of the tgapp-activitystream documentation (``make docs``).

The guide is the README itself, the changelog is CHANGELOG.rst and the benchmark,
scaling and Ming pages are the Markdown files of this directory (myst-parser), so
nothing is written twice. Warnings fail the build (``-W -n``).
"""

import re
from importlib.metadata import version as _version

project = 'tgapp-activitystream'
author = 'AXANT'
copyright = 'AXANT and the tgapp-activitystream contributors'
release = _version('tgapp-activitystream')
version = '.'.join(release.split('.')[:2])

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.autosectionlabel',
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
# explain-postgresql.txt is no page: the README links it and a test writes it
exclude_patterns = ['_build']

# `:ref:` to a section of another page: ``guide:Feeds``, ``changelog:Storage``
autosectionlabel_prefix_document = True
autosectionlabel_maxdepth = 3

myst_heading_anchors = 3

autodoc_default_options = {'member-order': 'bysource'}
autodoc_typehints = 'signature'
autodoc_preserve_defaults = True
autodoc_class_signature = 'separated'

# Nitpicky mode checks every cross-reference of ours. Types of the standard library
# and of the packages we build on have no inventory offline (no intersphinx): leave
# those unresolved, and only those.
nitpicky = True
_EXTERNAL = (
    'datetime',
    'typing',
    'collections',
    'collections.abc',
    'contextlib',
    'enum',
    'pathlib',
    'argparse',
    'logging',
    'threading',
    'redis',
    'sqlalchemy',
    'ming',
    'celery',
    'kombu',
    'tg',
    'gearbox',
    'webob',
    'email',
    'smtplib',
)
nitpick_ignore_regex = [
    (r'py:.*', rf'({"|".join(map(re.escape, _EXTERNAL))})(\..+)?'),
    # type variables and private helpers that annotations name
    (r'py:class', r'activitystream\..*\.([A-Z]|_\w+)'),
    # builtins, as annotations name them
    (r'py:.*', r'(None|Any|int|str|bytes|bool|float|dict|list|tuple|set|type|object)'),
]

html_theme = 'alabaster'
html_title = f'{project} {release}'
html_theme_options = {
    'description': 'Activity streams and notifications for TurboGears2',
    'fixed_sidebar': True,
}


def _readme_images(app, relative_path, parent_docname, content):
    """The README names its images from the repository root; pages live in docs/."""
    if relative_path.name == 'README.rst':
        content[0] = content[0].replace('.. image:: docs/', '.. image:: /')


def setup(app):
    app.connect('include-read', _readme_images)

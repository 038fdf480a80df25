"""``gearbox setup-app -c development.ini``: create the schema and the demo data."""

from sampleapp.config.app_cfg import base_config

from .bootstrap import bootstrap
from .schema import setup_schema

__all__ = ['setup_app', 'setup_database']


def setup_app(command, conf, vars):
    conf = base_config.configure(conf.global_conf, conf.local_conf)
    base_config.setup(conf)
    setup_database(command, conf, vars)


def setup_database(command=None, conf=None, vars=None):
    """Schema, then bootstrap (tgext.pluggable runs activitystream's bootstrap after ours)."""
    setup_schema(command, conf, vars)
    bootstrap(command, conf, vars)

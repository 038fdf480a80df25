"""The sample app with activitystream's plug options of the test: one site, two processes.

The test builds it in its own process (the web side, :func:`configure` on a
new configurator) and writes an ini whose ``[app:main]`` has ``use =
call:tests.celery_site:make_app`` and ``test.plug_options`` (JSON), from
which each worker process it starts builds the same site.
"""

import json

from activitystream.options import BLUEPRINT_KEY, validate

SETTING = 'test.plug_options'


def configure(cfg, options):
    """Plug options of ``cfg`` changed by ``options`` (validated again, as plug() does)."""
    plugged = cfg.get_blueprint_value(BLUEPRINT_KEY)
    cfg.update_blueprint({BLUEPRINT_KEY: validate({**plugged, **options})})


def make_app(global_conf, **settings):
    """PasteDeploy factory: the sample app, its plug options from ``test.plug_options``."""
    from sampleapp.config.app_cfg import base_config

    configure(base_config, json.loads(settings.pop(SETTING, '{}')))
    return base_config.make_wsgi_app(global_conf, settings)

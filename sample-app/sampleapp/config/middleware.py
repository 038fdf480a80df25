"""The WSGI application, as PasteDeploy (``gearbox serve``) builds it."""

import tg

from sampleapp.config.app_cfg import base_config

__all__ = ['make_app']


def make_app(global_conf, **app_conf):
    """PasteDeploy factory: ``use = egg:sampleapp`` in development.ini."""
    app = base_config.make_wsgi_app(global_conf, app_conf)
    if tg.config['sampleapp.setup_on_start']:
        # mim:// keeps data in memory, so `gearbox setup-app` can't prepare it for us
        from sampleapp.websetup import setup_database

        setup_database()
    return app

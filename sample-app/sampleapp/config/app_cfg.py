"""TG2 configuration of sampleapp; the ini file (development.ini) completes it."""

from tg import FullStackApplicationConfigurator
from tg.configurator.base import BeforeConfigConfigurationAction, ConfigurationComponent
from tg.support.converters import asbool, asint
from tgext.pluggable import plug

import sampleapp
from activitystream.options import BLUEPRINT_KEY, validate
from sampleapp import model
from sampleapp.lib import app_globals, helpers  # noqa: F401 - TG finds them on the package
from sampleapp.lib.auth import AuthMetadata

# How subscriptions.emit() delivers (lib/social.py): a notification in the navbar menu,
# and an e-mail (the activitystream.smtp_* settings of development.ini).
SUBSCRIPTION_BACKENDS = {
    'activitystream': 'activitystream.subscriptions.backends.ActivityStreamBackend',
    'email': 'activitystream.subscriptions.backends.EmailBackend',
}
# The kinds of notification (activitystream's notification_kinds option, keyed by verb) and
# where each goes unless a user chooses otherwise on /settings: the navbar menu (web), a mail
# each (email) or the daily digest (digest, `gearbox activitystream-digest`). Only comments
# are emitted to subscribers (lib/social.py), so only they can be mailed; posts and follows
# reach the menu alone, and a user may turn them off there.
NOTIFICATION_KINDS = {
    'commented on': {'label': 'Comments on posts I follow', 'channels': ['web', 'email']},
    'posted': {'label': 'New posts by people I follow', 'channels': ['web']},
    'started following': {'label': 'New followers', 'channels': ['web']},
}
# activitystream's outbox and Redis options the ini may set as ``sampleapp.<option>``
# (plug() runs before the ini is read): a site and the `gearbox activitystream-outbox
# drain` processes beside it share the outbox with the same timings, and the Redis of
# the timelines (lib/feeds.py)
INI_OPTIONS = {
    'delivery_runner': str,
    'delivery_batch': asint,
    'delivery_lease': asint,
    'delivery_max_attempts': asint,
    'delivery_backoff': float,
    'delivery_poll': float,
    'emit_page_size': asint,
    'emit_inline_limit': asint,
    'redis_url': str,
    'redis_prefix': str,
}


class BackendConfigurationComponent(ConfigurationComponent):
    """Turn ``sampleapp.backend`` from the ini into TG's database options.

    And ``sampleapp.delivery_*`` / ``sampleapp.emit_*`` / ``sampleapp.redis_*``
    into activitystream's plug options of the same names (see ``INI_OPTIONS``).

    It runs before every other component, so TG's SQLAlchemy/Ming components
    and tgext.pluggable already see the chosen model and session.
    """

    id = 'sampleapp.backend'

    def get_defaults(self):
        return {'sampleapp.backend': 'sqlalchemy', 'sampleapp.setup_on_start': False}

    def get_coercion(self):
        given = {f'sampleapp.{name}': to for name, to in INI_OPTIONS.items()}
        return {'sampleapp.setup_on_start': asbool, **given}

    def get_actions(self):
        return (BeforeConfigConfigurationAction(self._configure),)

    def _configure(self, conf, app):
        model.use(conf['sampleapp.backend'])
        sqla = model.backend == 'sqlalchemy'
        conf.update(
            {
                'use_sqlalchemy': sqla,
                'tm.enabled': sqla,
                'use_ming': not sqla,
                'DBSession': model.DBSession,
            }
        )
        given = {n: conf[f'sampleapp.{n}'] for n in INI_OPTIONS if f'sampleapp.{n}' in conf}
        if given:  # validated again, so a bad value is refused naming the option
            conf[BLUEPRINT_KEY] = validate({**conf[BLUEPRINT_KEY], **given})


def make_base_config():
    """A configurator with activitystream plugged (tests build their own after a TG reset)."""
    base_config = FullStackApplicationConfigurator()
    base_config.register(BackendConfigurationComponent, after=False)
    base_config.update_blueprint(
        {
            'package': sampleapp,
            'model': model,
            'renderers': ['json', 'kajiki'],
            'default_renderer': 'kajiki',
            'session.enabled': False,
            'sa_auth.enabled': True,
            'sa_auth.authmetadata': AuthMetadata(),
            'sa_auth.post_login_url': '/post_login',
            'sa_auth.post_logout_url': '/post_logout',
            'identity.allow_missing_user': False,
        }
    )
    plug(
        base_config,
        'activitystream',
        subscription_backends=SUBSCRIPTION_BACKENDS,
        notification_kinds=NOTIFICATION_KINDS,
        delivery_runner='thread',  # comment mails and feed fan-out never hold up a request
        feed_manager='sampleapp.lib.feeds:SiteFeeds',  # the home page's timelines
    )
    return base_config


base_config = make_base_config()

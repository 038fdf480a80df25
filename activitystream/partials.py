"""Template entry points: ``h.call_partial('activitystream.partials:notifications_menu')``.

Each renders with the host's ``default_renderer`` (Genshi when it is
``genshi``, Kajiki otherwise) and honours tgext.pluggable's
``replace_template`` for its template name, so a host can restyle any of them.
"""

import tg
from markupsafe import Markup
from tg.render import render
from tgext.pluggable import plug_url

from . import csrf, formats, preferences, refs, subscriptions
from .manager import am
from .translation import _, l_

TEMPLATES = 'activitystream.templates.partials.'


def _render(name, values, cache=None, page=False):
    """A fragment (or, with ``page``, a whole HTML document) of template ``name``."""
    template = TEMPLATES + name
    engine = 'genshi' if tg.config.get('default_renderer') == 'genshi' else 'kajiki'
    replaced = tg.config.get('_pluggable_templates_replacements', {}).get(template)
    if replaced:
        engine, template = replaced.split(':', 1)
    if page:
        options = {'doctype': 'html5'} if engine == 'genshi' else {}
    else:
        options = {'doctype': None} if engine == 'genshi' else {'is_fragment': True}
    if cache:
        values = dict(values, tg_cache=cache)
    return Markup(render(values, engine, template, **options))


def _recipient(recipient):
    """The given recipient, else the logged-in user, else None (anonymous)."""
    if recipient is not None:
        return recipient
    identity = tg.request.identity or {}
    return identity.get('user')


def _cache(key_parts, expire):
    return None if not expire else {'key': ':'.join(map(str, key_parts)), 'expire': expire}


def notifications_menu(recipient=None, limit=10, cache_expire=None):
    """A dropdown with the unseen badge and the latest notifications, each a ``see`` link.

    It costs the page query, one query per entity class shown, the unseen
    count and (unless the recipient keeps ``last_activity_seen``) its
    last-seen time. With ``cache_expire`` the HTML is cached per recipient
    and per state, so a new notification or a visit shows at once.
    """
    recipient = _recipient(recipient)
    if recipient is None:
        return Markup('')
    actions = am.get_by_recipient(recipient).limit(limit).all()
    seen_until = am.seen_until(recipient)
    unseen = am.count_not_seen_by_recipient(recipient)
    ref = refs.ref_of(recipient, 'recipient')
    newest = actions[0] if actions else None
    values = dict(
        actions=actions,
        unseen=unseen,
        is_unseen=lambda a: a.timestamp > seen_until,
        newest=newest and formats.iso(newest.timestamp),
        token=csrf.token_for(recipient),
        url=lambda path: plug_url('activitystream', path),
        script=tg.url('/_pluggable/activitystream/js/activitystream.js'),
        stylesheet=tg.url('/_pluggable/activitystream/css/activitystream.css'),
        labels=dict(
            title=_('Notifications'),
            empty=_('No notifications yet'),
        ),
    )
    key = ('activitystream-menu', ref.type, ref.id, limit, unseen, newest and newest.cursor)
    key += (csrf.login_mark(),)  # its token is the login's
    return _render('notifications_menu', values, _cache(key, cache_expire))


def unread_badge(recipient=None):
    """The number of notifications not seen yet, kept live by activitystream.js."""
    recipient = _recipient(recipient)
    if recipient is None:
        return Markup('')
    values = dict(
        unseen=am.count_not_seen_by_recipient(recipient),
        label=_('Notifications not seen yet'),
        unseen_url=plug_url('activitystream', '/unseen_count.json'),
    )
    return _render('unread_badge', values)


def bootstrap_widget(
    actions, panel_title, panel_body_style, timestamp_since=False, cache_key=None, cache_expire=3600
):
    """0.1.1's Bootstrap panel of actions, same markup; cached when given a ``cache_key``.

    The key is yours: include the recipient in it when the panel is per user.
    """
    values = dict(
        actions=list(actions),
        panel_title=panel_title,
        panel_body_style=panel_body_style,
        timestamp_since=timestamp_since,
        display=refs.display,
    )
    cache = None if cache_key is None else {'key': cache_key, 'expire': cache_expire}
    return _render('bootstrap_widget', values, cache)


def subscription_toggle(obj, subscribed=None, came_from=None):
    """A Subscribe / Unsubscribe button on ``obj`` for the logged-in user (none when anonymous).

    A form posting to ``subscribe`` or ``unsubscribe`` that comes back to
    ``came_from`` (default: this page). Pass ``subscribed`` when the page knows
    it already: ``subscriptions.subscribed_to`` answers a whole list in one query.
    """
    user = _recipient(None)
    if user is None:
        return Markup('')
    ref = refs.ref_of(obj, 'obj')
    if subscribed is None:
        subscribed = subscriptions.is_subscribed(user, obj)
    values = dict(
        subscribed=subscribed,
        action=plug_url('activitystream', '/unsubscribe' if subscribed else '/subscribe'),
        type=ref.type,
        id=ref.id,
        came_from=came_from or tg.request.path_qs,
        token=csrf.token_for(user),
        label=_('Unsubscribe') if subscribed else _('Subscribe'),
    )
    return _render('subscription_toggle', values)


CHANNEL_LABELS = {
    'web': l_('On this site'),
    'email': l_('By e-mail, at once'),
    'digest': l_('In my e-mail digest'),
}
PERIOD_LABELS = {'daily': l_('Daily'), 'weekly': l_('Weekly')}


def field_name(kind: str, channel: str) -> str:
    """The settings form's checkbox of ``channel`` for ``kind``."""
    return f'{kind}:{channel}'


def notification_settings(user=None, came_from=None, saved=False):
    """The logged-in user's notification settings: a fieldset per declared kind.

    A form posting to ``settings`` with the user's CSRF token: one labelled
    checkbox per channel (none checked: that kind is off) and the digest
    period; ``saved`` shows a status line saying the choice was stored.
    """
    user = _recipient(user)
    if user is None:
        return Markup('')
    chosen = preferences.get(user)
    kinds = [
        dict(
            label=spec['label'],
            channels=[
                dict(
                    name=field_name(kind, channel),
                    id=f'activitystream-{index}-{channel}',
                    label=_(CHANNEL_LABELS[channel]),
                    checked=channel in chosen[kind],
                )
                for channel in CHANNEL_LABELS
            ],
        )
        for index, (kind, spec) in enumerate(preferences.kinds().items())
    ]
    period = preferences.digest_period(user)
    values = dict(
        kinds=kinds,
        periods=[
            dict(value=p, label=_(label), checked=p == period) for p, label in PERIOD_LABELS.items()
        ],
        action=plug_url('activitystream', '/settings'),
        came_from=came_from or '',
        token=csrf.token_for(user),
        saved=saved,
        labels=dict(
            title=_('Notification settings'),
            digest=_('E-mail digest'),
            save=_('Save'),
            saved=_('Your choices were saved.'),
            none=_('This site has no notification settings.'),
        ),
    )
    return _render('notification_settings', values)


def page(name: str, values: dict) -> Markup:
    """A whole HTML page of ours (``settings_page``, ``unsubscribe_page``)."""
    return _render(name, values, page=True)

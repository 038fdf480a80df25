"""Template entry points: ``h.call_partial('activitystream.partials:notifications_menu')``.

Each renders with the host's ``default_renderer`` (Genshi when it is
``genshi``, Kajiki otherwise) and honours tgext.pluggable's
``replace_template`` for its template name, so a host can restyle any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import tg
from markupsafe import Markup
from tg.render import render
from tgext.pluggable import plug_url

from . import csrf, feedmenu, formats, grouping, model, preferences, refs, subscriptions
from .manager import am
from .translation import _, babel_locale, l_

TEMPLATES = 'activitystream.templates.partials.'


def render_partial(
    name: str, values: dict[str, Any], cache: dict[str, Any] | None = None, page: bool = False
) -> Markup:
    """Our template ``name`` (or the host's replacement) with the host's engine, as Markup.

    A fragment, or with ``page`` a whole HTML document.
    """
    template = TEMPLATES + name
    engine = 'genshi' if tg.config.get('default_renderer') == 'genshi' else 'kajiki'
    replaced = tg.config.get('_pluggable_templates_replacements', {}).get(template)
    if replaced:
        engine, template = replaced.split(':', 1)
    options: dict[str, Any]
    if page:
        options = {'doctype': 'html5'} if engine == 'genshi' else {}
    else:
        options = {'doctype': None} if engine == 'genshi' else {'is_fragment': True}
    if cache:
        values = dict(values, tg_cache=cache)
    return Markup(render(values, engine, template, **options))


def notifications_page_url() -> str:
    """Where "See all" goes: the plug option ``notifications_page_url``, else our page."""
    path = model.options().get('notifications_page_url')
    return tg.url(path) if path else plug_url('activitystream', '/all')


def _recipient(recipient: Any) -> Any:
    """The given recipient, else the logged-in user, else None (anonymous)."""
    if recipient is not None:
        return recipient
    identity = tg.request.identity or {}
    return identity.get('user')


def _cache(key_parts: Iterable[Any], expire: int | None) -> dict[str, Any] | None:
    return None if not expire else {'key': ':'.join(map(str, key_parts)), 'expire': expire}


BADGE_MAX = 99


def badge_text(count: int) -> str:
    """What the badge shows: the count, '99+' above 99 (the exact count is in its label)."""
    return f'{BADGE_MAX}+' if count > BADGE_MAX else str(count)


def _labels(unseen: int) -> dict[str, str]:
    not_seen = _('Notifications not seen yet')
    return dict(
        title=_('Notifications'),
        empty=_('No notifications yet'),
        not_seen=not_seen,
        # the badge counts notifications, not rows: a row of five counts five
        count=f'{not_seen}: {unseen}',
        mark_all=_('Mark all as read'),
        see_all=_('See all'),
        dismiss=_('Dismiss'),
        unseen=_('New:'),
        unread=_('Unread:'),
        older=_('Older notifications'),
    )


def _shown(
    recipient: Any, limit: int, before: str | None = None, read: bool = True
) -> tuple[list[dict[str, Any]], str | None, str | None, bool, int]:
    """(rows, the newest shown as ISO text, a mark of the newest, whether older rows follow,
    the unseen count): the notification feed's groups when the site keeps one
    (``feedmenu``), else one page of the inbox, grouped (no query per row).
    """
    feed = feedmenu.feed_of(recipient)
    rows = None if feed is None else feedmenu.rows(feed, limit, before)
    counted = None if feed is None or rows is None else feedmenu.counts(feed)
    if rows is not None and counted is not None:
        for row in rows if not read else ():
            row['read'] = None  # as the inbox's menu: the menu does not show it
        first = rows[0] if rows else {}
        return rows, first.get('timestamp'), first.get('cursor'), len(rows) == limit, counted[0]
    query = am.get_by_recipient(recipient)
    if before is not None:
        query = query.before(before)
    actions = query.limit(limit).all()
    seen_until = am.seen_until(recipient)
    window = model.options().get('group_window', grouping.DEFAULT_WINDOW)
    groups = grouping.group(actions, window, lambda a: a.timestamp > seen_until)
    newest = actions[0] if actions else None
    return (
        grouping.as_rows(groups, read),
        None if newest is None else formats.iso(newest.timestamp),
        None if newest is None else newest.cursor,
        len(actions) == limit,
        am.count_not_seen_by_recipient(recipient),
    )


def _list(
    rows: list[dict[str, Any]], token: str, newest: str | None, labels: dict[str, str]
) -> Markup:
    values = dict(
        rows=rows,
        token=token,
        newest=newest,
        labels=labels,
        url=lambda path: plug_url('activitystream', path),
    )
    return render_partial('notifications_list', values)


def _urls(
    token: str, newest: str | None, labels: dict[str, str], limit: int | None = None
) -> dict[str, Any]:
    """The data attributes activitystream.js reads: endpoints, the token, the newest shown."""
    url = lambda path, **params: plug_url('activitystream', path, params=params)  # noqa: E731
    return {
        'data-notifications-url': url('/notifications.json', **({'limit': limit} if limit else {})),
        'data-unseen-url': url('/unseen_count.json'),
        'data-events-url': url('/events'),
        'data-seen-url': url('/ajax_update_last_seen_of_a_recipient'),
        'data-see-url': url('/see'),
        'data-open-url': url('/open'),
        'data-dismiss-url': url('/dismiss'),
        'data-mark-read-url': url('/mark_read'),
        'data-csrf-token': token,
        'data-newest': newest,
        'data-word-dismiss': labels['dismiss'],
        'data-word-unseen': labels['unseen'],
        'data-word-unread': labels['unread'],
    }


def notifications_menu(
    recipient: Any = None, limit: int = 10, cache_expire: int | None = None
) -> Markup:
    """A Bootstrap 5 style dropdown: the unseen badge and the latest notifications, grouped.

    It costs the page query, one query for the entities shown, the unseen
    count and (unless the recipient keeps ``last_activity_seen``) its
    last-seen time, whatever the grouping. With a notification feed
    (``feedmenu``) its groups and its unseen count are shown instead, read
    from Redis, their actions and entities from the database. With ``cache_expire`` the HTML is
    cached per recipient and per state, so a new notification or a visit shows at once.
    """
    recipient = _recipient(recipient)
    if recipient is None:
        return Markup('')
    rows, newest_iso, newest, _, unseen = _shown(recipient, limit, read=False)
    ref = refs.ref_of(recipient, 'recipient')
    token = csrf.token_for(recipient)
    labels = _labels(unseen)
    values = dict(
        rows=_list(rows, token, newest_iso, labels),
        empty=not rows,
        unseen=unseen,
        badge=badge_text(unseen),
        menu_id=f'activitystream-menu-{ref.type}-{ref.id}'.replace(' ', '_'),
        data=_urls(token, newest_iso, labels, limit),
        see_all=notifications_page_url(),
        script=tg.url('/_pluggable/activitystream/js/activitystream.js'),
        stylesheet=tg.url('/_pluggable/activitystream/css/activitystream.css'),
        labels=labels,
    )
    key: tuple[Any, ...] = ('activitystream-menu', ref.type, ref.id, limit, unseen, newest)
    key += (csrf.login_mark(), str(babel_locale()))  # its token is the login's
    return render_partial('notifications_menu', values, _cache(key, cache_expire))


def notifications_page(recipient: Any = None, limit: int = 20, before: str | None = None) -> Markup:
    """Every notification, grouped as in the menu, a page at a time (``before``: a cursor).

    Hosts render it in a page of their own (and point ``notifications_page_url``
    at it), or use ours at /activitystream/all. Raises ValueError for a bad cursor.
    """
    recipient = _recipient(recipient)
    if recipient is None:
        return Markup('')
    rows, newest_iso, _, more, unseen = _shown(recipient, limit, before)
    token = csrf.token_for(recipient)
    labels = _labels(unseen)
    values = dict(
        rows=_list(rows, token, newest_iso, labels),
        empty=not rows,
        data=_urls(token, newest_iso, labels),
        older=more and tg.url(tg.request.path, params=dict(before=rows[-1]['cursor'])),
        stylesheet=tg.url('/_pluggable/activitystream/css/activitystream.css'),
        script=tg.url('/_pluggable/activitystream/js/activitystream.js'),
        labels=labels,
    )
    return render_partial('notifications_page', values)


def unread_badge(recipient: Any = None) -> Markup:
    """The number of notifications not seen yet, kept live by activitystream.js.

    Hidden at zero, '99+' above 99; its label (and the live region that
    announces changes) has the exact number of notifications.
    """
    recipient = _recipient(recipient)
    if recipient is None:
        return Markup('')
    unseen = feedmenu.menu_counts(recipient, unread=False)['unseen_count']
    values = dict(
        unseen=unseen,
        badge=badge_text(unseen),
        labels=_labels(unseen),
        unseen_url=plug_url('activitystream', '/unseen_count.json'),
        events_url=plug_url('activitystream', '/events'),
    )
    return render_partial('unread_badge', values)


def bootstrap_widget(
    actions: Iterable[Any],
    panel_title: str,
    panel_body_style: str,
    timestamp_since: bool = False,
    cache_key: str | None = None,
    cache_expire: int = 3600,
) -> Markup:
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
    return render_partial('bootstrap_widget', values, cache)


def subscription_toggle(
    obj: Any, subscribed: bool | None = None, came_from: str | None = None
) -> Markup:
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
    return render_partial('subscription_toggle', values)


CHANNEL_LABELS = {
    'web': l_('On this site'),
    'email': l_('By e-mail, at once'),
    'digest': l_('In my e-mail digest'),
}
PERIOD_LABELS = {'daily': l_('Daily'), 'weekly': l_('Weekly')}


def field_name(kind: str, channel: str) -> str:
    """The settings form's checkbox of ``channel`` for ``kind``."""
    return f'{kind}:{channel}'


def notification_settings(
    user: Any = None, came_from: str | None = None, saved: bool = False
) -> Markup:
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
    return render_partial('notification_settings', values)


def page(name: str, values: dict[str, Any]) -> Markup:
    """A whole HTML page of ours (``settings_page``, ``unsubscribe_page``)."""
    return render_partial(name, values, page=True)

"""Controllers mounted at /activitystream/ (or the appid given to plug()).

Thin: parse and check the request, ask the manager, pick a format. A user
reads and marks only their own notifications; bad parameters get a 4xx with
a JSON body naming them; state changes only on POST with a CSRF token (but
0.1.1's GET ``see`` links mark seen when the user follows them from the site).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

import tg
from tg import TGController, abort, expose, redirect, request, response
from tgext.pluggable import plug_url
from webob.exc import HTTPFound, HTTPSeeOther

from .. import feedmenu, formats, grouping, live, live_limits, model, refs
from ..helpers import csrf_token
from ..manager import am
from ..partials import notifications_page_url
from ..timeutil import to_utc
from .access import actor_stream
from .page import NotificationsPageController
from .preferences import MailController, PreferenceEndpoints
from .subscriptions import SubscriptionEndpoints
from .support import (
    Endpoints,
    check_csrf,
    current_user,
    fail,
    integer,
    requested_ref,
    same_origin_navigation,
    same_site,
    state_changing,
)

if TYPE_CHECKING:
    from ..action import Action
    from ..live_limits import Held
    from ..query import ActionQuery

PAGE_MAX = 100


def _url(path: str, params: dict[str, Any] | None = None, qualified: bool = False) -> str:
    return plug_url('activitystream', path, params=params, qualified=qualified)


def _page_of(query: ActionQuery, limit: str, before: str | None) -> tuple[list[Action], str | None]:
    """(actions, cursor of the next page or None) for the request's limit/before."""
    size = integer(limit, 'limit', 1, PAGE_MAX)
    if before:
        try:
            query = query.before(before)
        except ValueError as exc:
            fail(400, str(exc))
    actions = query.limit(size).all()
    return actions, (actions[-1].cursor if len(actions) == size else None)


def _timestamp(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except (AttributeError, TypeError, ValueError):
        fail(400, f'{name} must be an ISO 8601 timestamp')
    try:
        return to_utc(parsed, name)
    except ValueError as exc:  # beyond the calendar once in UTC
        fail(400, str(exc))


def _action_id(text: str, name: str = 'action') -> Any:
    try:
        return am.storage.action_id(text)
    except ValueError:
        fail(400, f'{name} must be an action id')


def _listed_ids(text: str) -> list[Any]:
    """A form's comma-separated ``actions`` (a row of the menu) as storage ids."""
    ids = [i for i in text.split(',') if i]
    if not 0 < len(ids) <= PAGE_MAX:
        fail(400, f'actions must list 1 to {PAGE_MAX} action ids')
    return [_action_id(i, 'actions') for i in ids]


def _json_body() -> tuple[list[Any], datetime | None]:
    """The request's JSON object (a row's ``actions`` and the like); 400 naming what is wrong."""
    try:
        body = request.json_body
    except (ValueError, UnicodeDecodeError):
        fail(400, 'the body must be a JSON object')
    if not isinstance(body, dict):
        fail(400, 'the body must be a JSON object')
    unknown = sorted(set(body) - {'actions', 'until'})
    if unknown:
        fail(400, f'unknown field {unknown[0]!r}: only actions and until are read')
    ids = body.get('actions')
    if not (isinstance(ids, list) and 0 < len(ids) <= PAGE_MAX):
        fail(400, f'actions must be a list of 1 to {PAGE_MAX} action ids')
    if not all(isinstance(i, str) for i in ids):
        fail(400, 'actions must hold action ids as strings')
    until = body.get('until')
    if until is not None and not isinstance(until, str):
        fail(400, 'until must be an ISO 8601 timestamp')
    until = _timestamp(until, 'until') if until else None  # '' as in the other endpoints
    return [_action_id(i, 'actions') for i in ids], until


def _counts(user: Any) -> dict[str, int]:
    """What the menu's badge and actions read back: the notification feed's, else the inbox's."""
    return feedmenu.menu_counts(user)


def _mark_seen(user: Any, until: datetime | None = None) -> datetime | None:
    """Seen up to ``until`` in the inbox; every group seen in the notification feed (if any)."""
    previous = am.mark_seen(user, until=until)
    feedmenu.marked_all(user, seen=True, read=False)
    return previous


class AS2Controller(Endpoints):
    """Activity Streams 2.0: the user's inbox and any entity's stream, cursor-paged."""

    def _reply(
        self, query: ActionQuery, path: str, params: dict[str, Any], limit: str, before: str | None
    ) -> dict[str, Any]:
        actions, next_cursor = _page_of(query, limit, before)
        base = request.host_url
        collection = _url(path, params, qualified=True)
        page = _url(path, dict(params, before=before), True) if before else collection
        following = next_cursor and _url(path, dict(params, limit=limit, before=next_cursor), True)
        response.content_type = formats.AS2_MEDIA_TYPE
        return formats.as2_page(actions, page, collection, following, base)

    @expose('json')
    def inbox(self, limit: str = '20', before: str | None = None) -> dict[str, Any]:
        user = current_user()
        return self._reply(am.get_by_recipient(user), '/as2/inbox', {}, limit, before)

    @expose('json')
    def actor(
        self,
        type_: str | None = None,
        id_: str | None = None,
        limit: str = '20',
        before: str | None = None,
    ) -> dict[str, Any]:
        ref = requested_ref(type_, id_)
        path = f'/as2/actor/{ref.type}/{ref.id}'
        return self._reply(actor_stream(ref), path, {}, limit, before)


class RootController(SubscriptionEndpoints, PreferenceEndpoints, TGController):
    as2 = AS2Controller()
    mail = MailController()
    all = NotificationsPageController()

    @expose('json')
    def index(self) -> dict[str, int]:
        """The logged-in user's unseen and unread counts."""
        user = current_user()
        return dict(
            unseen_count=am.count_not_seen_by_recipient(user),
            unread_count=am.count_unread_by_recipient(user),
        )

    @expose('json')
    def notifications(self, limit: str = '10', before: str | None = None) -> dict[str, Any]:
        """The logged-in user's latest notifications, newest first, and the counts.

        ``items`` one by one, ``rows`` the same grouped as the menu shows them
        (with a notification feed, its newest groups and its counts).
        """
        user = current_user()
        actions, next_cursor = _page_of(am.get_by_recipient(user), limit, before)
        feed = None if before else feedmenu.feed_of(user)
        rows = None if feed is None else feedmenu.rows(feed, int(limit))
        if rows is None:
            seen_until = am.seen_until(user)
            window = model.options().get('group_window', grouping.DEFAULT_WINDOW)
            groups = grouping.group(actions, window, lambda a: a.timestamp > seen_until)
            rows = grouping.as_rows(groups)
        return dict(
            items=[formats.as_json(a) for a in actions],
            rows=rows,
            next=next_cursor,
            csrf_token=csrf_token(),
            **_counts(user),
        )

    @expose('json')
    def unseen_count(self) -> dict[str, int]:
        """The unseen count alone, for cheap polling: answers 304 while it is unchanged."""
        user = current_user()
        count = feedmenu.menu_counts(user, unread=False)['unseen_count']
        ref = refs.ref_of(user, 'user')
        tag = hashlib.sha256(f'{ref.type}:{ref.id}:{count}'.encode()).hexdigest()[:20]
        caching = {'Cache-Control': 'private, no-cache', 'ETag': f'"{tag}"'}
        if tag in request.if_none_match:
            abort(304, headers=caching, passthrough=True)
        response.headers.update(caching)
        return dict(unseen_count=count)

    @expose('json')
    @state_changing
    def ajax_update_last_seen_of_a_recipient(
        self, _type: str | None = None, _id: str | None = None, until: str | None = None
    ) -> dict[str, str | None]:
        """Mark the user's notifications seen up to ``until`` (default now).

        Returns the previous last-seen time. ``until`` is the newest
        notification the page showed, so later arrivals stay unseen; it is
        capped at the newest notification, and the last-seen time never moves
        back (one conditional write). ``_type``/``_id`` (0.1.1) may only name
        the logged-in user.
        """
        user = current_user()
        if _type is not None or _id is not None:
            own = refs.ref_of(user, 'user')
            if (_type, _id) != (own.type, own.id):
                fail(403, 'you can only update your own last-seen time')
        wanted = None if until in (None, '') else _timestamp(until, 'until')
        previous = _mark_seen(user, until=wanted)
        return dict(last_activity_seen=None if previous is None else formats.iso(previous))

    @expose('json')
    @state_changing
    def mark_read(self, action: str | None = None) -> dict[str, int]:
        """Mark one notification (``action`` id) or all of them read."""
        user = current_user()
        ids = None if action is None else [_action_id(action)]
        changed = am.mark_read(user, ids)
        if ids is None:
            feedmenu.marked_all(user, seen=False, read=True)
        else:
            feedmenu.opened(user, ids)
        return dict(changed=changed, **_counts(user))

    @expose('json')
    @state_changing
    def open(self) -> dict[str, int]:
        """A row of the menu was opened: JSON ``{"actions": [ids], "until": newest shown}``.

        Marks every notification of the row read, and seen up to ``until``.
        """
        user = current_user()
        ids, until = _json_body()
        if until is not None:
            _mark_seen(user, until=until)
        changed = am.mark_read(user, ids)
        feedmenu.opened(user, ids)
        return dict(changed=changed, **_counts(user))

    @expose('json')
    @state_changing
    def dismiss(self) -> dict[str, int]:
        """Take a row out of the inbox: JSON ``{"actions": [ids]}``; others keep theirs."""
        user = current_user()
        ids, _ = _json_body()
        dismissed = am.dismiss(user, ids)
        feedmenu.dismissed(user, ids)
        return dict(dismissed=dismissed, **_counts(user))

    @expose()
    def see(
        self,
        target_link: str | None = None,
        action: str | None = None,
        until: str | None = None,
        actions: str | None = None,
    ) -> None:
        """Go to a notification's target; on POST (with a token) mark seen and read too.

        Seen up to ``until``, the newest notification the menu showed (else the
        newest there is); ``actions`` (comma-separated, a grouped row) are all
        marked read. Only same-site targets: anything else is a 400, and
        nothing changes; without one a POST comes back to the notification page.
        A GET (how 0.1.1 templates link) marks seen when it is the user's own
        navigation from this site, and only redirects otherwise.
        """
        current_user()
        if target_link is None and request.method == 'POST':
            target_link = notifications_page_url()
        target = same_site(target_link)
        if target is None:
            fail(400, 'target_link must be a path or a URL on this site')
        if request.method == 'POST':
            check_csrf()
            user = current_user()
            clicked = [] if action is None else [_action_id(action)]
            clicked += [] if actions is None else _listed_ids(actions)
            _mark_seen(user, until=None if until in (None, '') else _timestamp(until, 'until'))
            if clicked:
                am.mark_read(user, clicked)
                feedmenu.opened(user, clicked)
        elif request.method == 'GET' and same_origin_navigation():
            _mark_seen(current_user())
        redirect(target, redirect_with=HTTPSeeOther if request.method == 'POST' else HTTPFound)

    @expose(content_type='text/event-stream')
    def events(self) -> Held | None:
        """Server-sent events with the user's unseen count, pushed on every change.

        204 when nothing can be pushed (no Redis), 429 when the user or this process
        already has as many streams open as the plug options allow (each holds a
        server thread): either way the page polls instead.
        """
        user = current_user()
        ref = refs.ref_of(user, 'user')
        lifetime = int(tg.config.get('activitystream.events_lifetime', 25))
        held = live_limits.admit(ref, request.environ)
        if held is None:
            retry = {'Retry-After': str(lifetime)}
            fail(429, 'too many open event streams: poll unseen_count.json', retry)
        pubsub = live.subscribe(ref)
        if pubsub is None:
            held.close()
            return None
        storage = am.storage

        def recount() -> int:
            # the request is over: read afresh, then leave nothing open
            storage.forget()
            fresh = refs.find(storage, ref.type, ref.id)
            count = (
                0 if fresh is None else feedmenu.menu_counts(fresh, unread=False)['unseen_count']
            )
            storage.forget()
            return count

        response.headers.update({'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})
        first = feedmenu.menu_counts(user, unread=False)['unseen_count']
        body = live.stream(pubsub, recount, first, lifetime, live_limits.HEARTBEAT)
        return held.serve(body)

    @expose(content_type='application/atom+xml')
    def feed(
        self,
        limit: str = '20',
        before: str | None = None,
        actor_type: str | None = None,
        actor_id: str | None = None,
    ) -> bytes:
        """Atom: the user's notifications, or (with actor_type/actor_id) an entity's stream."""
        if actor_type is None and actor_id is None:
            user = current_user()
            query, title, params = am.get_by_recipient(user), 'Notifications', {}
        else:
            ref = requested_ref(actor_type, actor_id)
            query, params = actor_stream(ref), dict(actor_type=ref.type, actor_id=ref.id)
            title = f'Activity of {ref.type} {ref.id}'
        actions, next_cursor = _page_of(query, limit, before)
        following = next_cursor and _url('/feed.atom', dict(params, before=next_cursor), True)
        return formats.atom_feed(
            actions,
            title,
            _url('/feed.atom', params, qualified=True),
            request.host_url + '/',
            following,
            request.host_url,
        )

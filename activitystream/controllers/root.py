"""Controllers mounted at /activitystream/ (or the appid given to plug()).

Thin: parse and check the request, ask the manager, pick a format. A user
reads and marks only their own notifications; bad parameters get a 4xx with
a JSON body naming them; state changes only on POST with a CSRF token (but
0.1.1's GET ``see`` links mark seen when the user follows them from the site).
"""

import hashlib
from datetime import datetime

import tg
from tg import TGController, abort, expose, redirect, request, response
from tgext.pluggable import plug_url
from webob.exc import HTTPFound, HTTPSeeOther

from .. import formats, live, live_limits, refs
from ..helpers import csrf_token
from ..manager import am
from ..timeutil import to_utc
from .access import actor_stream
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

PAGE_MAX = 100


def _url(path, params=None, qualified=False):
    return plug_url('activitystream', path, params=params, qualified=qualified)


def _page_of(query, limit, before):
    """(actions, cursor of the next page or None) for the request's limit/before."""
    limit = integer(limit, 'limit', 1, PAGE_MAX)
    if before:
        try:
            query = query.before(before)
        except ValueError as exc:
            fail(400, str(exc))
    actions = query.limit(limit).all()
    return actions, (actions[-1].cursor if len(actions) == limit else None)


def _timestamp(value, name):
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except (AttributeError, TypeError, ValueError):
        fail(400, f'{name} must be an ISO 8601 timestamp')
    try:
        return to_utc(parsed, name)
    except ValueError as exc:  # beyond the calendar once in UTC
        fail(400, str(exc))


def _action_id(text):
    try:
        return am.storage.action_id(text)
    except ValueError:
        fail(400, 'action must be an action id')


class AS2Controller(Endpoints):
    """Activity Streams 2.0: the user's inbox and any entity's stream, cursor-paged."""

    def _reply(self, query, path, params, limit, before):
        actions, next_cursor = _page_of(query, limit, before)
        base = request.host_url
        collection = _url(path, params, qualified=True)
        page = _url(path, dict(params, before=before), True) if before else collection
        following = next_cursor and _url(path, dict(params, limit=limit, before=next_cursor), True)
        response.content_type = formats.AS2_MEDIA_TYPE
        return formats.as2_page(actions, page, collection, following, base)

    @expose('json')
    def inbox(self, limit='20', before=None):
        user = current_user()
        return self._reply(am.get_by_recipient(user), '/as2/inbox', {}, limit, before)

    @expose('json')
    def actor(self, type_=None, id_=None, limit='20', before=None):
        ref = requested_ref(type_, id_)
        path = f'/as2/actor/{ref.type}/{ref.id}'
        return self._reply(actor_stream(ref), path, {}, limit, before)


class RootController(SubscriptionEndpoints, PreferenceEndpoints, TGController):
    as2 = AS2Controller()
    mail = MailController()

    @expose('json')
    def index(self):
        """The logged-in user's unseen and unread counts."""
        user = current_user()
        return dict(
            unseen_count=am.count_not_seen_by_recipient(user),
            unread_count=am.count_unread_by_recipient(user),
        )

    @expose('json')
    def notifications(self, limit='10', before=None):
        """The logged-in user's latest notifications, newest first, and the counts."""
        user = current_user()
        actions, next_cursor = _page_of(am.get_by_recipient(user), limit, before)
        return dict(
            items=[formats.as_json(a) for a in actions],
            next=next_cursor,
            unseen_count=am.count_not_seen_by_recipient(user),
            unread_count=am.count_unread_by_recipient(user),
            csrf_token=csrf_token(),
        )

    @expose('json')
    def unseen_count(self):
        """The unseen count alone, for cheap polling: answers 304 while it is unchanged."""
        user = current_user()
        count = am.count_not_seen_by_recipient(user)
        ref = refs.ref_of(user, 'user')
        tag = hashlib.sha256(f'{ref.type}:{ref.id}:{count}'.encode()).hexdigest()[:20]
        caching = {'Cache-Control': 'private, no-cache', 'ETag': f'"{tag}"'}
        if tag in request.if_none_match:
            abort(304, headers=caching, passthrough=True)
        response.headers.update(caching)
        return dict(unseen_count=count)

    @expose('json')
    @state_changing
    def ajax_update_last_seen_of_a_recipient(self, _type=None, _id=None, until=None):
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
        previous = am.mark_seen(user, until=wanted)
        return dict(last_activity_seen=previous and formats.iso(previous))

    @expose('json')
    @state_changing
    def mark_read(self, action=None):
        """Mark one notification (``action`` id) or all of them read."""
        user = current_user()
        changed = am.mark_read(user, None if action is None else [_action_id(action)])
        return dict(changed=changed, unread_count=am.count_unread_by_recipient(user))

    @expose()
    def see(self, target_link=None, action=None, until=None):
        """Go to a notification's target; on POST (with a token) mark seen and read too.

        Seen up to ``until``, the newest notification the menu showed (else the
        newest there is). Only same-site targets: anything else is a 400, and
        nothing changes.
        A GET (how 0.1.1 templates link) marks seen when it is the user's own
        navigation from this site, and only redirects otherwise.
        """
        current_user()
        target = same_site(target_link)
        if target is None:
            fail(400, 'target_link must be a path or a URL on this site')
        if request.method == 'POST':
            check_csrf()
            user = current_user()
            clicked = None if action is None else _action_id(action)
            am.mark_seen(user, until=None if until in (None, '') else _timestamp(until, 'until'))
            if clicked is not None:
                am.mark_read(user, [clicked])
        elif request.method == 'GET' and same_origin_navigation():
            am.mark_seen(current_user())
        redirect(target, redirect_with=HTTPSeeOther if request.method == 'POST' else HTTPFound)

    @expose(content_type='text/event-stream')
    def events(self):
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

        def recount():
            # the request is over: read afresh, then leave nothing open
            storage.forget()
            cls = refs.entity_class(ref.type)
            fresh = storage.load_entities(cls, [refs.stored_key(cls, ref.id)])
            count = am.count_not_seen_by_recipient(fresh[0]) if fresh else 0
            storage.forget()
            return count

        response.headers.update({'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})
        first = am.count_not_seen_by_recipient(user)
        body = live.stream(pubsub, recount, first, lifetime, live_limits.HEARTBEAT)
        return held.serve(body)

    @expose(content_type='application/atom+xml')
    def feed(self, limit='20', before=None, actor_type=None, actor_id=None):
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

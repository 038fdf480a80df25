"""The host's pages: the API used inside requests, as a TG2 site would (the bench makes none)."""

import tg
from markupsafe import Markup
from tg import TGController, expose, request, require
from tg.predicates import not_anonymous

from activitystream import am


class RootController(TGController):
    """A host page that uses the API inside a request, as a TG2 site would."""

    @expose()
    def index(self):
        return 'HELLO'

    @expose('json')
    @require(not_anonymous())
    def my_notifications(self, limit='5'):
        user = request.identity['user']
        actions = am.get_by_recipient(user).limit(int(limit)).all()
        return dict(
            unseen=am.count_not_seen_by_recipient(user),
            items=[
                dict(actor=a.actor, verb=a.verb, target=a.target, since=a.timestamp_since)
                for a in actions
            ],
        )

    @expose('json')
    @require(not_anonymous())
    def greet(self, to):
        """A request whose only write is an action (no ORM change of the host's)."""
        recipient = tg.config['sa_auth.authmetadata'].get_user({}, to)
        action = am.create(request.identity['user'], 'greeted', recipients=[recipient])
        return dict(id=str(action.id))

    @expose('kajiki:hosts.templates.notifications')
    @require(not_anonymous())
    def seed_notifications(self):
        """The seed README's rendering recipe: one cached template per notification."""
        user = request.identity['user']

        def render(n):
            cache = {'cache_key': n._id, 'cache_expire': 604800, 'cache_type': 'memory'}
            html = tg.render_template(
                {'n': n, 'tg_cache': cache}, 'kajiki', 'hosts.templates.notification'
            )
            return Markup(html)  # our own template's output, already escaped by Kajiki

        return dict(notifications=am.get_by_recipient(user).limit(10).all(), render=render)

    @expose('hosts.templates.menu')
    @require(not_anonymous())
    def menu(self, limit='10', since='', cache_key=None):
        """A page with our partials, rendered by the default renderer (Kajiki or Genshi)."""
        user = request.identity['user']
        actions = am.get_by_recipient(user).limit(5).all()
        return dict(limit=int(limit), actions=actions, since=bool(since), cache_key=cache_key)

    @expose('hosts.templates.menu_only')
    def menu_of(self, user_name, cache_expire=None):
        """Only the menu partial, for a named recipient: to count what it costs."""
        recipient = tg.config['sa_auth.authmetadata'].get_user({}, user_name)
        expire = int(cache_expire) if cache_expire else None
        return dict(recipient=recipient, cache_expire=expire)

    @expose('json')
    def backend(self):
        from activitystream import model

        return dict(backend=model.backend, package=tg.config['package'].__name__)

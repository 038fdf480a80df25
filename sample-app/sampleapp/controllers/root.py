"""The pages of sampleapp."""

import logging

import redis
from tg import TGController, abort, expose, flash, lurl, redirect, request, require
from tg.decorators import before_validate
from tg.exceptions import HTTPFound
from tg.predicates import not_anonymous

from activitystream import am, csrf
from activitystream.controllers.support import same_site

from .. import model
from ..lib import feeds, social
from .error import ErrorController

LATEST_POSTS = 20
STREAM_LENGTH = 20
NOTIFICATIONS_PAGE = 50
TIMELINE_PAGE = 25
HOME = lurl('/')
log = logging.getLogger(__name__)


def post_only(remainder, params):
    """State changes come only from this site's forms: POST, and no foreign Origin."""
    if request.method != 'POST':
        abort(405)
    origin = request.headers.get('Origin')
    if origin is not None and origin != request.host_url:
        abort(403)


def csrf_checked(remainder, params):
    """POST from this site's forms, carrying the logged-in user's activitystream CSRF token."""
    post_only(remainder, params)
    if not csrf.is_valid(current_user(), params.get(csrf.FIELD)):
        abort(403, 'missing or invalid CSRF token')


def current_user():
    return request.identity['user']


def local(url):
    """Redirect only inside this site (``came_from`` comes from the query string)."""
    url = str(url)
    return url if url.startswith('/') and not url.startswith('//') else str(HOME)


def back_to(came_from, default):
    """Where a form comes back to: ``came_from`` when it is on this site (else a 400)."""
    if came_from is None:
        return default
    target = same_site(came_from)
    if target is None:
        abort(400, 'came_from must be a path or a URL on this site')
    return target


def timeline(user, before=None):
    """A page of ``user``'s timeline older than the cursor ``before``: its template values.

    26 read to know whether an "Older" link is due; their actions and entities
    load in batches (no query per row). With Redis down, the plain list of
    what the database shows the user instead, and a notice.
    """
    if not (before is None or isinstance(before, str)):
        abort(400, 'before must be given once')
    try:
        feed = feeds.manager().timeline(user)
        try:
            query = feed.query() if before is None else feed.before(before)
        except ValueError as exc:  # a cursor that is not one of ours
            abort(400, str(exc))
        actions = query[: TIMELINE_PAGE + 1]
    except redis.RedisError as exc:
        log.warning('timeline of %s unavailable: %s', user.user_name, exc)
        fallback = am.get_actions(viewer=user).limit(TIMELINE_PAGE).all()
        return dict(timeline=fallback, older=None, timeline_down=True)
    older = actions[TIMELINE_PAGE - 1].cursor if len(actions) > TIMELINE_PAGE else None
    return dict(timeline=actions[:TIMELINE_PAGE], older=older, timeline_down=False)


def found(entity):
    if entity is None:
        abort(404)
    return entity


class RootController(TGController):
    """Pages read with GET; every change is a POST from one of the site's forms."""

    error = ErrorController()

    @expose('sampleapp.templates.index')
    def index(self, before=None):
        """Everyone's latest posts; for a logged-in user, first their timeline."""
        values = dict(posts=model.latest_posts(LATEST_POSTS), users=model.all_users())
        if request.identity:
            values.update(timeline(current_user(), before))
        return values

    @expose('sampleapp.templates.user')
    def users(self, user_name):
        user = found(model.find_user(user_name))
        me = request.identity and current_user()
        return dict(
            user=user,
            followers=model.followers_of(user),
            following=bool(me) and model.find_follow(me, user) is not None,
            stream=am.get_actions(actor=user).limit(STREAM_LENGTH).all(),
        )

    @expose('sampleapp.templates.post')
    def posts(self, post_id):
        post = found(model.get_post(post_id))
        return dict(post=post, comments=model.comments_of(post))

    @expose()
    @require(not_anonymous())
    @before_validate(post_only)
    def publish(self, text=''):
        if not text.strip():
            flash('Write something first.', 'warning')
            redirect('/')
        post = social.publish(current_user(), text.strip())
        redirect(post.as_link)

    @expose()
    @require(not_anonymous())
    @before_validate(post_only)
    def comment(self, post_id, text=''):
        post = found(model.get_post(post_id))
        if text.strip():
            social.comment(current_user(), post, text.strip())
        redirect(post.as_link)

    @expose()
    @require(not_anonymous())
    @before_validate(csrf_checked)
    def follow(self, user_name, came_from=None):
        """Follow, then back to ``came_from`` (same site only), by default the user's page."""
        user = found(model.find_user(user_name))
        back = back_to(came_from, user.as_link)
        social.follow(current_user(), user)
        redirect(back)

    @expose()
    @require(not_anonymous())
    @before_validate(csrf_checked)
    def unfollow(self, user_name, came_from=None):
        user = found(model.find_user(user_name))
        back = back_to(came_from, user.as_link)
        social.unfollow(current_user(), user)
        redirect(back)

    @expose('sampleapp.templates.notifications')
    @require(not_anonymous())
    def notifications(self):
        """Only lists them: the navbar menu marks them seen when it is opened."""
        user = current_user()
        return dict(notifications=am.get_by_recipient(user).limit(NOTIFICATIONS_PAGE).all())

    @expose('sampleapp.templates.settings')
    @require(not_anonymous())
    def settings(self, saved=None):
        """activitystream's settings form in this site's layout; it posts to the package's page.

        That page stores the choice and comes back here with ``saved=1``.
        """
        return dict(saved=saved == '1')

    @expose('sampleapp.templates.login')
    def login(self, came_from=HOME, login=''):
        """The form posts to repoze.who's /login_handler, which comes back to post_login."""
        failed = request.environ.get('repoze.who.logins', 0)
        if failed:
            flash('Wrong user name or password.', 'warning')
        return dict(came_from=came_from, login=login, login_counter=str(failed))

    @expose()
    def post_login(self, came_from=HOME):
        """Back to the login form after a failed login, else where the user was going."""
        if not request.identity:
            logins = request.environ.get('repoze.who.logins', 0) + 1
            redirect('/login', params=dict(came_from=came_from, __logins=logins))
        flash(f'Welcome back, {current_user().as_str}!')
        return HTTPFound(location=local(came_from))

    @expose()
    def post_logout(self, came_from=HOME):
        flash('See you soon!')
        return HTTPFound(location=local(came_from))

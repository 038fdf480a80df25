"""The pages of sampleapp."""

from tg import TGController, abort, expose, flash, lurl, redirect, request, require
from tg.decorators import before_validate
from tg.exceptions import HTTPFound
from tg.predicates import not_anonymous

from activitystream import am

from .. import model
from ..lib import social
from .error import ErrorController

LATEST_POSTS = 20
STREAM_LENGTH = 20
NOTIFICATIONS_PAGE = 50
HOME = lurl('/')


def post_only(remainder, params):
    """State changes come only from this site's forms: POST, and no foreign Origin."""
    if request.method != 'POST':
        abort(405)
    origin = request.headers.get('Origin')
    if origin is not None and origin != request.host_url:
        abort(403)


def current_user():
    return request.identity['user']


def local(url):
    """Redirect only inside this site (``came_from`` comes from the query string)."""
    url = str(url)
    return url if url.startswith('/') and not url.startswith('//') else str(HOME)


def found(entity):
    if entity is None:
        abort(404)
    return entity


class RootController(TGController):
    """Pages read with GET; every change is a POST from one of the site's forms."""

    error = ErrorController()

    @expose('sampleapp.templates.index')
    def index(self):
        return dict(posts=model.latest_posts(LATEST_POSTS), users=model.all_users())

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
    @before_validate(post_only)
    def follow(self, user_name):
        user = found(model.find_user(user_name))
        social.follow(current_user(), user)
        redirect(user.as_link)

    @expose()
    @require(not_anonymous())
    @before_validate(post_only)
    def unfollow(self, user_name):
        user = found(model.find_user(user_name))
        social.unfollow(current_user(), user)
        redirect(user.as_link)

    @expose('sampleapp.templates.notifications')
    @require(not_anonymous())
    def notifications(self):
        """Only lists them: the navbar menu marks them seen when it is opened."""
        user = current_user()
        return dict(notifications=am.get_by_recipient(user).limit(NOTIFICATIONS_PAGE).all())

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

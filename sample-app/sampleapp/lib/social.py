"""What users do and who hears about it: the site's rules, once for both backends.

Each function stores the change and records it with activitystream, dated
``when`` (default: now) so that the demo data can tell a story over days.
Posts are subscriptions: writing or commenting one subscribes you to it, and a
comment is emitted to its subscribers (a notification and an e-mail).

Posts, comments and follows are public actions, as the pages that show them
are: they also go to the timelines of the actor's followers (:mod:`.feeds`).
"""

from activitystream import am, subscriptions

from .. import model
from ..model.common import utcnow
from .feeds import manager

# the subscription backends of config/app_cfg.py
BACKENDS = ('activitystream', 'email')
COMMENTED = '{actor} commented on {title}'


def publish(author, text, when=None):
    """A new post, delivered to the author's followers; the author subscribes to it."""
    post = model.Post(author=author, text=text, created=when or utcnow())
    model.save(post)
    subscriptions.subscribe(author, post)
    am.create(
        author,
        'posted',
        target=post,
        recipients=model.followers_of(author),
        timestamp=post.created,
        public=True,
    )
    return post


def comment(author, post, text, when=None, backends=BACKENDS):
    """A comment: its writer subscribes to the post, and its other subscribers are told.

    The subscribers are the author, the commenters and whoever pressed the
    post's Subscribe button, minus those who unsubscribed. They get a
    notification (with the comment) and an e-mail; ``backends`` may name
    fewer: the demo data passes ``['activitystream']``, no mail.
    """
    new = model.Comment(post=post, author=author, text=text, created=when or utcnow())
    model.save(new)
    subscriptions.subscribe(author, post)
    subscriptions.emit(
        COMMENTED,
        subscribers_of=post,
        dont_send_to=author,
        actor=author,
        actor_display_self='You',
        format_kwargs={'title': post.as_str},
        backends=list(backends),
        timestamp=new.created,
        verb='commented on',
        action_obj=new,
        public=True,
    )
    return new


def follow(follower, followed, when=None):
    """Start following ``followed``, who is told; nothing happens if already following.

    The ``Follow`` row is the site's; the subscription to the user is what the
    feed manager reads followers from, and it copies ``followed``'s recent
    actions into the follower's timeline (done in the request too: ``copy_now``).
    """
    if follower.user_name == followed.user_name or model.find_follow(follower, followed):
        return
    relation = model.Follow(follower=follower, followed=followed, created=when or utcnow())
    model.save(relation)
    subscriptions.subscribe(follower, followed)
    am.create(
        follower,
        'started following',
        target=followed,
        recipients=[followed],
        timestamp=relation.created,
        public=True,
    )
    manager().copy_now(follower, followed)


def unfollow(follower, followed):
    """Stop following; nobody is told, and ``followed``'s actions leave the timeline."""
    relation = model.find_follow(follower, followed)
    if relation is not None:
        model.delete(relation)
        subscriptions.unsubscribe(follower, followed)
        manager().copy_now(follower, followed, follow=False)

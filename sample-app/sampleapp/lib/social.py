"""What users do and who hears about it: the site's rules, once for both backends.

Each function stores the change and records it with activitystream, dated
``when`` (default: now) so that the demo data can tell a story over days.
Posts are subscriptions: writing or commenting one subscribes you to it, and a
comment is emitted to its subscribers (a notification and an e-mail).
"""

from activitystream import am, subscriptions

from .. import model
from ..model.common import utcnow

# the subscription backends of config/app_cfg.py
BACKENDS = ('activitystream', 'email')
COMMENTED = '{actor} commented on {title}'


def publish(author, text, when=None):
    """A new post, delivered to the author's followers; the author subscribes to it."""
    post = model.Post(author=author, text=text, created=when or utcnow())
    model.save(post)
    subscriptions.subscribe(author, post)
    am.create(
        author, 'posted', target=post, recipients=model.followers_of(author), timestamp=post.created
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
    )
    return new


def follow(follower, followed, when=None):
    """Start following ``followed``, who is told; nothing happens if already following."""
    if follower.user_name == followed.user_name or model.find_follow(follower, followed):
        return
    relation = model.Follow(follower=follower, followed=followed, created=when or utcnow())
    model.save(relation)
    am.create(
        follower,
        'started following',
        target=followed,
        recipients=[followed],
        timestamp=relation.created,
    )


def unfollow(follower, followed):
    """Stop following; nobody is told."""
    relation = model.find_follow(follower, followed)
    if relation is not None:
        model.delete(relation)

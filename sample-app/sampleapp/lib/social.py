"""What users do and who hears about it: the site's rules, once for both backends.

Each function stores the change and records it with activitystream, dated
``when`` (default: now) so that the demo data can tell a story over days.
"""

from activitystream import am

from .. import model
from ..model.common import utcnow


def publish(author, text, when=None):
    """A new post, delivered to the author's followers."""
    post = model.Post(author=author, text=text, created=when or utcnow())
    model.save(post)
    am.create(
        author, 'posted', target=post, recipients=model.followers_of(author), timestamp=post.created
    )
    return post


def comment(author, post, text, when=None):
    """A comment, delivered to the post's author and earlier commenters, not to its writer."""
    involved = [post.author] + [c.author for c in model.comments_of(post)]
    new = model.Comment(post=post, author=author, text=text, created=when or utcnow())
    model.save(new)
    recipients = [u for u in involved if u.user_name != author.user_name]
    am.create(
        author,
        'commented on',
        target=post,
        action_obj=new,
        recipients=recipients,
        timestamp=new.created,
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

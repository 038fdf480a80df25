"""The model on Ming (MongoDB, or ``mim://`` in memory)."""

from bson import ObjectId
from bson.errors import InvalidId
from ming import Session
from ming import schema as s
from ming.odm import (
    FieldProperty,
    ForeignIdProperty,
    MappedClass,
    Mapper,
    RelationProperty,
    ThreadLocalODMSession,
)

from . import NAMES
from .common import CommentMixin, PostMixin, UserMixin, utcnow

__all__ = list(NAMES)

mainsession = Session()
DBSession = ThreadLocalODMSession(mainsession)


def init_model(datastore):
    mainsession.bind = datastore
    Mapper.compile_all()


def create_schema():
    for mapper in Mapper.all_mappers():
        if mapper.session is DBSession:
            mainsession.ensure_indexes(mapper.collection)


class User(UserMixin, MappedClass):
    class __mongometa__:
        session = DBSession
        name = 'tg_user'
        unique_indexes = [('user_name',)]

    _id = FieldProperty(s.ObjectId)
    user_name = FieldProperty(s.String, required=True)
    display_name = FieldProperty(s.String)
    email_address = FieldProperty(s.String)  # where the email backend sends notifications
    password_hash = FieldProperty(s.String)
    created = FieldProperty(s.DateTime, if_missing=utcnow)


class Post(PostMixin, MappedClass):
    class __mongometa__:
        session = DBSession
        name = 'posts'
        indexes = [('created',)]

    _id = FieldProperty(s.ObjectId)
    author_id = ForeignIdProperty(User)
    author = RelationProperty(User)
    text = FieldProperty(s.String, required=True)
    created = FieldProperty(s.DateTime, if_missing=utcnow)


class Comment(CommentMixin, MappedClass):
    class __mongometa__:
        session = DBSession
        name = 'comments'
        indexes = [('post_id', 'created')]

    _id = FieldProperty(s.ObjectId)
    post_id = ForeignIdProperty(Post)
    post = RelationProperty(Post)
    author_id = ForeignIdProperty(User)
    author = RelationProperty(User)
    text = FieldProperty(s.String, required=True)
    created = FieldProperty(s.DateTime, if_missing=utcnow)


class Follow(MappedClass):
    class __mongometa__:
        session = DBSession
        name = 'follows'
        unique_indexes = [('follower_id', 'followed_id')]
        indexes = [('followed_id',)]

    _id = FieldProperty(s.ObjectId)
    follower_id = ForeignIdProperty(User)
    follower = RelationProperty(User, via='follower_id')
    followed_id = ForeignIdProperty(User)
    followed = RelationProperty(User, via='followed_id')
    created = FieldProperty(s.DateTime, if_missing=utcnow)


def save(obj):
    DBSession.flush(obj)


def delete(obj):
    obj.delete()
    DBSession.flush(obj)


def find_user(user_name):
    return User.query.get(user_name=user_name)


def get_post(post_id):
    try:
        return Post.query.get(_id=ObjectId(post_id))
    except (InvalidId, TypeError):
        return None


def all_users():
    return User.query.find().sort('user_name').all()


def latest_posts(limit):
    return Post.query.find().sort('created', -1).limit(limit).all()


def comments_of(post):
    return Comment.query.find({'post_id': post._id}).sort('created').all()


def followers_of(user):
    ids = [f.follower_id for f in Follow.query.find({'followed_id': user._id})]
    return User.query.find({'_id': {'$in': ids}}).sort('user_name').all()


def find_follow(follower, followed):
    return Follow.query.get(follower_id=follower._id, followed_id=followed._id)

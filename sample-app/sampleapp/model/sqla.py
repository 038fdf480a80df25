"""The model on SQLAlchemy (SQLite, PostgreSQL, ...)."""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Unicode, UnicodeText, select
from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker
from zope.sqlalchemy import register

from . import NAMES
from .common import EMAIL_LENGTH, CommentMixin, PostMixin, UserMixin, utcnow

__all__ = [*NAMES, 'DeclarativeBase', 'metadata']  # these two for TG and tgext.pluggable

DBSession = scoped_session(sessionmaker(autoflush=True))
register(DBSession)
DeclarativeBase = declarative_base()
metadata = DeclarativeBase.metadata


def init_model(engine):
    DBSession.configure(bind=engine)


def create_schema():
    metadata.create_all(DBSession.get_bind())  # activitystream's tables were copied in by plug()


class User(UserMixin, DeclarativeBase):
    __tablename__ = 'tg_user'
    user_id = Column(Integer, primary_key=True)
    user_name = Column(Unicode(50), unique=True, nullable=False)
    display_name = Column(Unicode(100))
    email_address = Column(Unicode(EMAIL_LENGTH))  # where the email backend sends notifications
    password_hash = Column(Unicode(200))
    created = Column(DateTime, nullable=False, default=utcnow)


class Post(PostMixin, DeclarativeBase):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey(User.user_id), nullable=False, index=True)
    author = relationship(User)
    text = Column(UnicodeText, nullable=False)
    created = Column(DateTime, nullable=False, default=utcnow, index=True)


class Comment(CommentMixin, DeclarativeBase):
    __tablename__ = 'comments'
    id = Column(Integer, primary_key=True)
    post_id = Column(Integer, ForeignKey(Post.id), nullable=False, index=True)
    post = relationship(Post)
    author_id = Column(Integer, ForeignKey(User.user_id), nullable=False)
    author = relationship(User)
    text = Column(UnicodeText, nullable=False)
    created = Column(DateTime, nullable=False, default=utcnow)


class Follow(DeclarativeBase):
    __tablename__ = 'follows'
    follower_id = Column(Integer, ForeignKey(User.user_id), primary_key=True)
    follower = relationship(User, foreign_keys=[follower_id])
    followed_id = Column(Integer, ForeignKey(User.user_id), primary_key=True, index=True)
    followed = relationship(User, foreign_keys=[followed_id])
    created = Column(DateTime, nullable=False, default=utcnow)


def save(obj):
    DBSession.add(obj)
    DBSession.flush()


def delete(obj):
    DBSession.delete(obj)
    DBSession.flush()


def find_user(user_name):
    return DBSession.scalars(select(User).filter_by(user_name=user_name)).first()


def get_post(post_id):
    try:
        return DBSession.get(Post, int(post_id))
    except ValueError:
        return None


def all_users():
    return DBSession.scalars(select(User).order_by(User.user_name)).all()


def latest_posts(limit):
    return DBSession.scalars(select(Post).order_by(Post.created.desc()).limit(limit)).all()


def comments_of(post):
    return DBSession.scalars(select(Comment).filter_by(post=post).order_by(Comment.created)).all()


def followers_of(user):
    query = select(User).join(Follow, Follow.follower_id == User.user_id)
    return DBSession.scalars(query.filter(Follow.followed == user)).all()


def find_follow(follower, followed):
    return DBSession.get(Follow, (follower.user_id, followed.user_id))

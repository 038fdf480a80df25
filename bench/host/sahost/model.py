"""SQLAlchemy model of the bench host: users who read notifications, posts they act on."""

from sqlalchemy import Column, DateTime, Integer, String, Text
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker
from zope.sqlalchemy import register

from ..common import PostDisplay, UserDisplay

DBSession = scoped_session(sessionmaker(autoflush=True))
register(DBSession)
DeclarativeBase = declarative_base()
metadata = DeclarativeBase.metadata


def init_model(engine):
    DBSession.configure(bind=engine)


class User(UserDisplay, DeclarativeBase):
    """Keeps its own last-seen time, as the seed README recommends."""

    __tablename__ = 'tg_user'
    user_id = Column(Integer, primary_key=True, autoincrement=True)
    user_name = Column(String(50), unique=True, nullable=False)
    last_activity_seen = Column(DateTime)


class Post(PostDisplay, DeclarativeBase):
    __tablename__ = 'posts'
    post_id = Column(Integer, primary_key=True, autoincrement=True)
    slug = Column(String(60), nullable=False)
    title = Column(String(200), nullable=False)
    author_id = Column(Integer, nullable=False)


class BenchMeta(DeclarativeBase):
    """What dataset is loaded (written last, so a half-loaded database has none)."""

    __tablename__ = 'bench_meta'
    key = Column(String(50), primary_key=True)
    value = Column(Text, nullable=False)

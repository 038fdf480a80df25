"""SQLAlchemy model of the test host: entities with int, string and UUID keys."""

import uuid

from sqlalchemy import Column, DateTime, Integer, String, Uuid
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker
from zope.sqlalchemy import register

from ...common import DocumentDisplay, TeamDisplay, UserDisplay

# expire_on_commit=False: tests keep using entities across commits and requests
DBSession = scoped_session(sessionmaker(autoflush=True, expire_on_commit=False))
register(DBSession)
DeclarativeBase = declarative_base()
metadata = DeclarativeBase.metadata


def init_model(engine):
    DBSession.configure(bind=engine)


class User(UserDisplay, DeclarativeBase):
    """Like a quickstarted project's User: no last_activity_seen."""

    __tablename__ = 'tg_user'
    user_id = Column(Integer, primary_key=True, autoincrement=True)
    user_name = Column(String(50), unique=True, nullable=False)
    display_name = Column(String(100))


class Team(TeamDisplay, DeclarativeBase):
    __tablename__ = 'teams'
    slug = Column(String(40), primary_key=True)
    name = Column(String(100))


class Document(DocumentDisplay, DeclarativeBase):
    __tablename__ = 'documents'
    uid = Column(Uuid, primary_key=True, default=uuid.uuid4)
    title = Column(String(100))


class QuickstartUser(DeclarativeBase):
    """A ``gearbox quickstart`` User as generated: a ``__repr__`` with the e-mail, no ``as_str``."""

    __tablename__ = 'qs_user'
    user_id = Column(Integer, primary_key=True, autoincrement=True)
    user_name = Column(String(16), unique=True, nullable=False)
    email_address = Column(String(255), unique=True, nullable=False)
    display_name = Column(String(255))
    password = Column(String(128))

    def __repr__(self):
        return (
            f'<User: name={self.user_name!r}, email={self.email_address!r}, '
            f'display={self.display_name!r}>'
        )


class Membership(DeclarativeBase):
    """A primary key of two columns, which references cannot hold."""

    __tablename__ = 'memberships'
    team_slug = Column(String(40), primary_key=True)
    user_name = Column(String(50), primary_key=True)


class Member(DeclarativeBase):
    """A recipient that keeps its own last-seen time, as the 0.1.1 README asked."""

    __tablename__ = 'members'
    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(50))
    last_activity_seen = Column(DateTime)


class Watcher(DeclarativeBase):
    """A recipient whose last-seen column is time-zone aware (TIMESTAMPTZ on PostgreSQL)."""

    __tablename__ = 'watchers'
    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(50))
    last_activity_seen = Column(DateTime(timezone=True))

"""The SQLAlchemy host's model: entities with int, string and UUID keys, two-column keys,
recipients that keep their own last-seen time, and the bench's posts."""

import uuid
from types import ModuleType

from sqlalchemy import Column, DateTime, Integer, String, Text, Uuid

from ..display import DocumentDisplay, PostDisplay, TeamDisplay, UserDisplay
from . import as_module, sqlalchemy_model


def build(bench: bool) -> ModuleType:
    """The model of the tests' host, or of the bench's (``bench``: users keep a last-seen time).

    The tests keep using entities across commits and requests; the bench detaches
    what it keeps, so only its session expires objects on commit.
    """
    DBSession, DeclarativeBase, metadata, init_model = sqlalchemy_model(expire_on_commit=bench)

    class User(UserDisplay, DeclarativeBase):
        """Like a quickstarted project's User; the bench's keep their last-seen time."""

        __tablename__ = 'tg_user'
        user_id = Column(Integer, primary_key=True, autoincrement=True)
        user_name = Column(String(50), unique=True, nullable=False)
        display_name = Column(String(100))
        if bench:
            last_activity_seen = Column(DateTime)

    class Team(TeamDisplay, DeclarativeBase):
        __tablename__ = 'teams'
        slug = Column(String(40), primary_key=True)
        name = Column(String(100))

    class Document(DocumentDisplay, DeclarativeBase):
        __tablename__ = 'documents'
        uid = Column(Uuid, primary_key=True, default=uuid.uuid4)
        title = Column(String(100))

    class QuickstartUser(DeclarativeBase):
        """A ``gearbox quickstart`` User as generated: a ``__repr__`` with the e-mail, no
        ``as_str``."""

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

    class Post(PostDisplay, DeclarativeBase):
        """What the bench's users act on."""

        __tablename__ = 'posts'
        post_id = Column(Integer, primary_key=True, autoincrement=True)
        slug = Column(String(60), nullable=False)
        title = Column(String(200), nullable=False)
        author_id = Column(Integer, nullable=False)

    class BenchMeta(DeclarativeBase):
        """What dataset the bench loaded (written last: a half-loaded database has none)."""

        __tablename__ = 'bench_meta'
        key = Column(String(50), primary_key=True)
        value = Column(Text, nullable=False)

    return as_module(
        __name__, bench, build.__doc__,
        DBSession=DBSession, DeclarativeBase=DeclarativeBase, metadata=metadata,
        init_model=init_model, User=User, Team=Team, Document=Document,
        QuickstartUser=QuickstartUser, Membership=Membership, Member=Member, Watcher=Watcher,
        Post=Post, BenchMeta=BenchMeta,
    )  # fmt: skip

"""The Ming host's model: entities with ObjectId, string and int keys, a recipient that
keeps its own last-seen time, and the bench's posts."""

from types import ModuleType

from ming import schema as s
from ming.odm import FieldProperty, MappedClass

from ..display import DocumentDisplay, PostDisplay, TeamDisplay, UserDisplay
from . import as_module, ming_model


def build(bench: bool) -> ModuleType:
    """The model of the tests' host, or of the bench's (``bench``: users keep a last-seen time)."""
    DBSession, init_model = ming_model()

    class User(UserDisplay, MappedClass):
        """Like a quickstarted project's User; the bench's keep their last-seen time."""

        class __mongometa__:
            session = DBSession
            name = 'tg_user'

        _id = FieldProperty(s.ObjectId)
        user_name = FieldProperty(s.String, required=True)
        display_name = FieldProperty(s.String)
        if bench:
            last_activity_seen = FieldProperty(s.DateTime)

    class Team(TeamDisplay, MappedClass):
        class __mongometa__:
            session = DBSession
            name = 'teams'

        _id = FieldProperty(s.String)
        name = FieldProperty(s.String)

    class Document(DocumentDisplay, MappedClass):
        class __mongometa__:
            session = DBSession
            name = 'documents'

        _id = FieldProperty(int)
        title = FieldProperty(s.String)

    class QuickstartUser(MappedClass):
        """A ``gearbox quickstart`` User as generated: no ``__repr__`` of its own, so Ming's
        (every field, the password hash included), and no ``as_str``."""

        class __mongometa__:
            session = DBSession
            name = 'qs_user'

        _id = FieldProperty(s.ObjectId)
        user_name = FieldProperty(s.String)
        email_address = FieldProperty(s.String)
        display_name = FieldProperty(s.String)
        password = FieldProperty(s.String)

    class Member(MappedClass):
        class __mongometa__:
            session = DBSession
            name = 'members'

        _id = FieldProperty(s.ObjectId)
        name = FieldProperty(s.String)
        last_activity_seen = FieldProperty(s.DateTime)

    class Post(PostDisplay, MappedClass):
        """What the bench's users act on."""

        class __mongometa__:
            session = DBSession
            name = 'posts'

        _id = FieldProperty(s.ObjectId)
        slug = FieldProperty(s.String)
        title = FieldProperty(s.String)
        author_id = FieldProperty(s.ObjectId)

    return as_module(
        __name__, bench, build.__doc__,
        DBSession=DBSession, init_model=init_model, User=User, Team=Team, Document=Document,
        QuickstartUser=QuickstartUser, Member=Member, Post=Post,
    )  # fmt: skip

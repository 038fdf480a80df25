"""Ming model of the test host: entities with ObjectId, string and int keys."""

from ming import Session
from ming import schema as s
from ming.odm import FieldProperty, MappedClass, Mapper, ThreadLocalODMSession

from ...common import DocumentDisplay, TeamDisplay, UserDisplay

mainsession = Session()
DBSession = ThreadLocalODMSession(mainsession)


def init_model(engine):
    mainsession.bind = engine
    Mapper.compile_all()


class User(UserDisplay, MappedClass):
    class __mongometa__:
        session = DBSession
        name = 'tg_user'

    _id = FieldProperty(s.ObjectId)
    user_name = FieldProperty(s.String, required=True)
    display_name = FieldProperty(s.String)


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

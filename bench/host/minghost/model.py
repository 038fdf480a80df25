"""Ming model of the bench host: the same User and Post as the SQLAlchemy host."""

from ming import Session
from ming import schema as s
from ming.odm import FieldProperty, MappedClass, Mapper, ThreadLocalODMSession

from ..common import PostDisplay, UserDisplay

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
    last_activity_seen = FieldProperty(s.DateTime)


class Post(PostDisplay, MappedClass):
    class __mongometa__:
        session = DBSession
        name = 'posts'

    _id = FieldProperty(s.ObjectId)
    slug = FieldProperty(s.String)
    title = FieldProperty(s.String)
    author_id = FieldProperty(s.ObjectId)

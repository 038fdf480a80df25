"""Who is logged in: repoze.who asks this, through TG's sa_auth."""

from tg.configuration.auth import TGAuthMetadata

from .. import model


class AuthMetadata(TGAuthMetadata):
    """Users log in by user name and password; there are no groups or permissions."""

    def authenticate(self, environ, identity):
        user = model.find_user(identity['login'])
        if user is None or not user.validate_password(identity['password']):
            return None
        return user.user_name

    def get_user(self, identity, userid):
        return model.find_user(userid)

    def get_groups(self, identity, userid):
        return []

    def get_permissions(self, identity, userid):
        return []

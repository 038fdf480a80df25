"""Who is logged in: repoze.who asks this, through TG's sa_auth."""

from collections.abc import Callable
from typing import Any

from tg.configuration.auth import TGAuthMetadata

from .. import model


class AuthMetadata(TGAuthMetadata):
    """Users log in by user name and password; no groups or permissions (TG's empty lists).

    ``find_user(user_name)`` gives the user or None: sampleapp's model by default.
    This repository's test hosts use it too, with their own models, under TG's
    forged ``REMOTE_USER`` identity (``skip_authentication``): only ``get_user`` is asked.
    """

    def __init__(self, find_user: Callable[[str], Any] | None = None) -> None:
        # looked up per call by default: model.use() fills the model in at configuration time
        self.find_user = find_user or (lambda user_name: model.find_user(user_name))

    def authenticate(self, environ, identity):
        user = self.find_user(identity['login'])
        if user is None or not user.validate_password(identity['password']):
            return None
        return user.user_name

    def get_user(self, identity, userid):
        return self.find_user(userid)

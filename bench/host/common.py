"""What the two bench hosts share: a root controller and how entities display.

A host needs a real ``<package>.controllers.root`` for tgext.pluggable to
mount activitystream on; the bench itself drives the API in-process.
"""

from tg import TGController, expose


class RootController(TGController):
    @expose()
    def index(self):
        return 'activitystream bench host'


class UserDisplay:
    """0.1.1's ``as_str`` / ``as_link``, which menus show for the actor."""

    @property
    def as_str(self):
        return self.user_name

    @property
    def as_link(self):
        return f'/users/{self.user_name}'


class PostDisplay:
    @property
    def as_str(self):
        return self.title

    @property
    def as_link(self):
        return f'/posts/{self.slug}'

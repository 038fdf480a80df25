"""What the SQLAlchemy and Ming models share: display, links, addresses and passwords."""

import hashlib
import hmac
import secrets
from datetime import datetime, timezone
from urllib.parse import quote

from tgext.pluggable import instance_primary_key

ITERATIONS = 200_000
EXCERPT = 40
EMAIL_LENGTH = 254  # the longest address SMTP carries (RFC 5321)


def utcnow():
    """Naive UTC, as activitystream keeps its timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def hash_password(password, salt=None):
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac('sha256', password.encode(), salt.encode(), ITERATIONS)
    return f'pbkdf2_sha256${ITERATIONS}${salt}${digest.hex()}'


def check_password(password, stored):
    try:
        _, iterations, salt, expected = stored.split('$')
        digest = hashlib.pbkdf2_hmac('sha256', password.encode(), salt.encode(), int(iterations))
    except (AttributeError, ValueError):  # no hash stored, or a malformed one
        return False
    return hmac.compare_digest(digest.hex(), expected)


def excerpt(text):
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + '…'


class UserMixin:
    """activitystream shows entities by ``as_str`` and links them by ``as_link``; its
    menus read only the columns those use (``__activitystream_display__``).

    Its email subscription backend mails ``email_address`` (none: no mail).
    """

    __activitystream_display__ = ('user_name', 'display_name')

    @property
    def as_str(self):
        return self.display_name or self.user_name

    @property
    def as_link(self):
        return '/users/' + quote(self.user_name)

    def set_password(self, password):
        self.password_hash = hash_password(password)

    def validate_password(self, password):
        return check_password(password, self.password_hash)


class PostMixin:
    __activitystream_display__ = ('text',)

    @property
    def as_str(self):
        return f'“{excerpt(self.text)}”'

    @property
    def key(self):
        """The primary key as a string: URLs and forms use it on both backends."""
        return instance_primary_key(self, as_string=True)

    @property
    def as_link(self):
        return '/posts/' + self.key


class CommentMixin:
    __activitystream_display__ = ('text',)

    @property
    def as_str(self):
        return f'“{excerpt(self.text)}”'

"""``gearbox activitystream-retry``: kept for its name; see ``activitystream.delivery.command``."""

from ..delivery.command import RetryCommand

__all__ = ['RetryCommand']

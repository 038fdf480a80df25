"""What a subscription backend is: a way to deliver emitted messages."""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ...timeutil import utcnow


class BaseBackend(ABC):
    """Subclass it and implement :meth:`emit`, as in django-subscription.

    One instance serves one ``emit()`` call (or one retried delivery), so it
    may keep state. ``actor`` and ``subscribers_of`` are that call's
    (entities or None), ``timestamp`` its time (naive UTC) and ``name`` the
    backend's name in the ``subscription_backends`` option. A subclass that
    overrides ``__init__`` takes the same arguments: deferred backends are
    made again after the commit, with entities loaded again.

    A backend whose ``deferred`` is true (the default) delivers only after
    the host's transaction commits, so a rolled-back request sends nothing;
    one that writes to the host's database (``ActivityStreamBackend``)
    delivers at once, inside the transaction.
    """

    deferred = True
    #: the keyword arguments of ``emit()`` it uses, or None for any (a mail
    #: template may use them all); a keyword no chosen backend uses is an error
    accepts: frozenset[str] | None = None
    #: the preference channel it serves ('web', 'email'), or None: every recipient gets it
    channel: str | None = None
    #: the kind of the notification being delivered (see ``activitystream.preferences``)
    kind: str | None = None
    #: a deferred delivery's outbox job and step: what it sends, it sends once per key
    delivery_key: str | None = None

    def __init__(
        self,
        name: str | None = None,
        actor: Any = None,
        subscribers_of: Any = None,
        timestamp: datetime | None = None,
    ) -> None:
        self.name = name
        self.actor = actor
        self.subscribers_of = subscribers_of
        self.timestamp = timestamp or utcnow()

    def check(self, **kwargs: Any) -> None:  # noqa: B027 - optional: most backends take any kwargs
        """Raise TypeError/ValueError for ``emit()`` keyword arguments this backend rejects.

        Called before anything is delivered, so bad input sends nothing.
        """

    @abstractmethod
    def emit(self, recipient: Any, text: str, **kwargs: Any) -> None:
        """Deliver ``text`` (formatted for this recipient) to ``recipient``.

        ``kwargs`` are the extra keyword arguments of ``emit()``, untouched.
        Raise to report a failure: the delivery is then kept for the retry command.
        """

    def emit_many(
        self, deliveries: Iterable[tuple[Any, str]], **kwargs: Any
    ) -> list[tuple[Any, str, Exception]]:
        """Deliver each (recipient, text); return the failed ones as (recipient, text, error).

        Override it to deliver in bulk (one connection, one statement).
        """
        failed: list[tuple[Any, str, Exception]] = []
        for recipient, text in deliveries:
            try:
                self.emit(recipient, text, **kwargs)
            except Exception as exc:  # noqa: BLE001 - one recipient never stops the others
                failed.append((recipient, text, exc))
        return failed

"""The ``activitystream`` backend: emitted messages become notifications."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ... import refs
from ...manager import am
from .base import BaseBackend

DEFAULT_VERB = 'notified'


class ActivityStreamBackend(BaseBackend):
    """Stores an Action for the recipients, so the message shows in their notification menu.

    The action's actor is the ``emit()`` actor (else ``subscribers_of``), its
    target ``subscribers_of`` and its description the formatted text. The
    keyword arguments ``verb`` (default ``'notified'``), ``action_obj`` and
    ``extra`` and ``public`` of ``emit()`` go to the action too. Recipients who read the same
    text share one action: one bulk write for everyone but the actor.
    """

    deferred = False  # the host's transaction commits or rolls it back with the rest
    channel = 'web'
    accepts = frozenset({'verb', 'action_obj', 'extra', 'public'})

    def _arguments(
        self,
        text: str,
        recipients: list[Any],
        verb: str = DEFAULT_VERB,
        action_obj: Any = None,
        extra: Any = None,
        public: bool | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """create()'s arguments; keywords for the other backends are theirs (emit checks them)."""
        return dict(
            actor=self.actor if self.actor is not None else self.subscribers_of,
            verb=verb,
            target=self.subscribers_of,
            action_obj=action_obj,
            description=text,
            extra=extra,
            recipients=recipients,
            timestamp=self.timestamp,
            public=public,
        )

    def check(self, **kwargs: Any) -> None:
        if self.actor is None and self.subscribers_of is None:
            raise ValueError('the activitystream backend needs an actor or subscribers_of')
        am.check(**self._arguments('', [], **kwargs))

    def emit(self, recipient: Any, text: str, **kwargs: Any) -> None:
        self.emit_many([(recipient, text)], **kwargs)

    def emit_many(
        self, deliveries: Iterable[tuple[Any, str]], **kwargs: Any
    ) -> list[tuple[Any, str, Exception]]:
        actor = refs.ref_of(self._arguments('', [])['actor'], 'actor')
        by_text: dict[str, list[Any]] = {}
        for recipient, text in deliveries:
            if refs.ref_of(recipient, 'recipient') != actor:  # not notified of their own action
                by_text.setdefault(text, []).append(recipient)
        am.create_many([self._arguments(t, rs, **kwargs) for t, rs in by_text.items()])
        return []

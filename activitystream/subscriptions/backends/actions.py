"""The ``activitystream`` backend: emitted messages become notifications."""

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
        self, text, recipients, verb=DEFAULT_VERB, action_obj=None, extra=None, public=None, **_
    ):
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

    def check(self, **kwargs):
        if self.actor is None and self.subscribers_of is None:
            raise ValueError('the activitystream backend needs an actor or subscribers_of')
        am.check(**self._arguments('', [], **kwargs))

    def emit(self, recipient, text, **kwargs):
        self.emit_many([(recipient, text)], **kwargs)

    def emit_many(self, deliveries, **kwargs):
        actor = refs.ref_of(self._arguments('', [])['actor'], 'actor')
        by_text = {}
        for recipient, text in deliveries:
            if refs.ref_of(recipient, 'recipient') != actor:  # not notified of their own action
                by_text.setdefault(text, []).append(recipient)
        am.create_many([self._arguments(t, rs, **kwargs) for t, rs in by_text.items()])
        return []

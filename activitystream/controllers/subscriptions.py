"""The subscribe and unsubscribe endpoints, mixed into the RootController.

Both are POST-only with the logged-in user's CSRF token, and act only for
that user. The object is named by ``type`` (its class name) and ``id`` (its
primary key), as ``subscription_toggle`` writes them. The answer is JSON,
or with ``came_from`` (a same-site URL) a redirect back to the page.
"""

from __future__ import annotations

from typing import Any

from tg import expose, redirect
from webob.exc import HTTPSeeOther

from .. import model, refs, subscriptions
from .support import Endpoints, current_user, fail, requested_ref, same_site, state_changing


def _target(type_: Any, id_: Any) -> Any:
    """The entity named by the request: 400 for malformed or unsupported names, 404 when
    there is none."""
    ref = requested_ref(type_, id_)
    try:
        found = refs.find(model.storage(), ref.type, ref.id)
    except ValueError as exc:  # a class references cannot hold
        fail(400, str(exc))
    if found is None:
        fail(404, f'there is no {ref.type} {ref.id}')
    return found


def _back_to(came_from: str | None) -> str | None:
    """Where to redirect after the change, checked before anything changes."""
    if came_from is None:
        return None
    target = same_site(came_from)
    if target is None:
        fail(400, 'came_from must be a path or a URL on this site')
    return target


def _reply(obj: Any, subscribed: bool, changed: bool, back: str | None) -> dict[str, Any]:
    if back is not None:
        redirect(back, redirect_with=HTTPSeeOther)
    return dict(
        subscribed=subscribed,
        changed=changed,
        subscribers=subscriptions.subscribers_of(obj).count(),
    )


class SubscriptionEndpoints(Endpoints):
    """``subscribe`` and ``unsubscribe``, for the RootController to inherit."""

    @expose('json')
    @state_changing
    def subscribe(
        self, type: str | None = None, id: str | None = None, came_from: str | None = None
    ) -> dict[str, Any]:
        """Subscribe the logged-in user to the object; a no-op when already subscribed."""
        user, back = current_user(), _back_to(came_from)
        obj = _target(type, id)
        return _reply(obj, True, subscriptions.subscribe(user, obj), back)

    @expose('json')
    @state_changing
    def unsubscribe(
        self, type: str | None = None, id: str | None = None, came_from: str | None = None
    ) -> dict[str, Any]:
        """Unsubscribe the logged-in user from the object; a no-op when not subscribed."""
        user, back = current_user(), _back_to(came_from)
        obj = _target(type, id)
        return _reply(obj, False, subscriptions.unsubscribe(user, obj), back)

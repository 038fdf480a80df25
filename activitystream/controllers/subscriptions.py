"""The subscribe and unsubscribe endpoints, mixed into the RootController.

Both are POST-only with the logged-in user's CSRF token, and act only for
that user. The object is named by ``type`` (its class name) and ``id`` (its
primary key), as ``subscription_toggle`` writes them. The answer is JSON,
or with ``came_from`` (a same-site URL) a redirect back to the page.
"""

import re
import uuid

from tg import TGController, expose, redirect
from webob.exc import HTTPSeeOther

from .. import model, refs, subscriptions
from .support import current_user, fail, state_changing

_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,127}$')
INT64 = (-(2**63), 2**63 - 1)  # what the databases store and compare


def _key(cls, id_):
    """``id_`` as a primary key of ``cls``, or None when it cannot be one."""
    try:
        key = refs.stored_key(cls, id_)
    except Exception:  # noqa: BLE001 - an ObjectId that is none raises bson's own error
        return None
    expected = refs._key_type(cls)
    typed = isinstance(expected, type) and issubclass(expected, (int, float, uuid.UUID))
    if typed and isinstance(key, str):
        return None
    return None if isinstance(key, int) and not INT64[0] <= key <= INT64[1] else key


def _target(type_, id_):
    """The entity named by the request: 400 for malformed names, 404 when there is none."""
    if not (isinstance(type_, str) and _NAME.match(type_)):
        fail(400, 'type must be an entity class name')
    if not (isinstance(id_, str) and 0 < len(id_) <= 128):
        fail(400, 'id must be an entity id')
    cls = refs.entity_class(type_)
    mapped = isinstance(cls, type) and cls in set(refs._mapped_classes())
    key = _key(cls, id_) if mapped else None
    found = [] if key is None else model.storage().load_entities(cls, [key])
    if not found:
        fail(404, f'there is no {type_} {id_}')
    return found[0]


def _back_to(came_from):
    """Where to redirect after the change, checked before anything changes."""
    if came_from is None:
        return None
    from .root import same_site  # root mounts this module: imported when called

    target = same_site(came_from)
    if target is None:
        fail(400, 'came_from must be a path or a URL on this site')
    return target


def _reply(obj, subscribed, changed, back):
    if back is not None:
        redirect(back, redirect_with=HTTPSeeOther)
    return dict(
        subscribed=subscribed,
        changed=changed,
        subscribers=subscriptions.subscribers_of(obj).count(),
    )


class SubscriptionEndpoints(TGController):
    """``subscribe`` and ``unsubscribe``, for the RootController to inherit."""

    @expose('json')
    @state_changing
    def subscribe(self, type=None, id=None, came_from=None):
        """Subscribe the logged-in user to the object; a no-op when already subscribed."""
        user, back = current_user(), _back_to(came_from)
        obj = _target(type, id)
        return _reply(obj, True, subscriptions.subscribe(user, obj), back)

    @expose('json')
    @state_changing
    def unsubscribe(self, type=None, id=None, came_from=None):
        """Unsubscribe the logged-in user from the object; a no-op when not subscribed."""
        user, back = current_user(), _back_to(came_from)
        obj = _target(type, id)
        return _reply(obj, False, subscriptions.unsubscribe(user, obj), back)

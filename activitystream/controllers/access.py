"""Who may read the public streams of an entity (its actions as actor, AS2 and Atom).

By default anyone may, and sees the public actions, plus, when logged in, the
private ones they did or received. The ``anonymous_streams`` plug option
refuses anonymous readers; ``stream_access`` lets the host decide per reader
and entity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tg import request

from .. import model, refs
from ..manager import am
from ..options import ConfigurationError
from ..storage.base import Ref
from .support import fail

if TYPE_CHECKING:
    from ..query import ActionQuery

EVERYTHING = 'everything'
VERDICTS = (True, False, None, EVERYTHING)


def _verdict(check: Callable[[Any, Any], Any], identity: Any, ref: Ref) -> Any:
    """What the host's ``stream_access`` says of ``ref`` for ``identity``."""
    try:
        entity = refs.find(model.storage(), ref.type, ref.id)
    except ValueError as exc:  # a class no reference can name (a composite key)
        fail(400, str(exc))
    verdict = check(identity, ref if entity is None else entity)
    if not any(verdict is v or (isinstance(v, str) and verdict == v) for v in VERDICTS):
        raise ConfigurationError(
            f'activitystream option stream_access returned {verdict!r}; '
            f"it must return True, False, None or 'everything'"
        )
    return verdict


def actor_stream(ref: Ref) -> ActionQuery:
    """The actions of the actor ``ref`` that the requester may read (a lazy query).

    401 for an anonymous requester when anonymous streams are off, or when the
    host refuses them; 403 when the host refuses a logged-in one.
    """
    identity = request.identity or None
    viewer = identity and identity.get('user')
    options = model.options()
    if viewer is None and not options['anonymous_streams']:
        fail(401, 'log in to read activity streams')
    everything = False
    check = options['stream_access']
    if check is not None:
        verdict = _verdict(check, identity, ref)
        if verdict is False:
            fail(403 if viewer is not None else 401, 'you may not read this activity stream')
        everything = verdict == EVERYTHING
    return am.get_actions(actor=ref, viewer=viewer, everything=everything)

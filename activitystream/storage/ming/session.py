"""What the Ming storage halves share: the host's session and its collections."""

from typing import Any

from pymongo.collection import Collection

from ..base import Ref


def ref_in(doc: dict[str, Any], prefix: str) -> Ref:
    # the reference a document stores as ``<prefix>_type`` and ``<prefix>_id``
    return Ref(doc[prefix + '_type'], doc[prefix + '_id'])


def optional_ref_in(doc: dict[str, Any], prefix: str) -> Ref | None:
    return None if doc.get(prefix + '_type') is None else ref_in(doc, prefix)


class OnSession:
    """The host's Ming session, for ``MingStorage``, ``MingOutbox`` and ``MingPreferences``."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def _c(self, name: str) -> Collection[dict[str, Any]]:
        """The pymongo collection ``name`` of the session's database."""
        return self.session.impl.db[name]

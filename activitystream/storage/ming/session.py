"""What the Ming storage halves share: the host's session and its collections."""

from typing import Any

from pymongo.collection import Collection


class OnSession:
    """The host's Ming session, for ``MingStorage``, ``MingOutbox`` and ``MingPreferences``."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def _c(self, name: str) -> Collection[dict[str, Any]]:
        """The pymongo collection ``name`` of the session's database."""
        return self.session.impl.db[name]

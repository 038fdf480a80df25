"""What activitystream needs from an ORM to reference host entities.

One adapter per ORM (``sqla``, ``ming``) implements :class:`EntityAdapter`;
the one of the chosen backend is the only one imported. The registry
(:mod:`.registry`) keeps what the adapter answers per class.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Final


class _Composite:
    """The key attribute of a class whose primary key has several columns."""

    def __repr__(self) -> str:
        return 'COMPOSITE'


COMPOSITE: Final = _Composite()
# where a class keeps its primary key: an attribute, COMPOSITE, or None (not mapped)
KeyAttribute = str | _Composite | None


class EntityAdapter(ABC):
    """How one ORM's mapped classes keep their keys, and where the host's classes are."""

    #: the ORM as error messages name it
    label: str

    @abstractmethod
    def key_attribute(self, cls: type) -> KeyAttribute:
        """The attribute holding the primary key of ``cls``.

        :data:`COMPOSITE` when the key has several columns, None when this
        ORM does not map ``cls``.
        """

    @abstractmethod
    def key_type(self, cls: type) -> Any:
        """The Python type of the primary key of the mapped class ``cls``."""

    @abstractmethod
    def assign_key(self, entity: Any) -> None:
        """Give a new entity its primary key (a flush), for write paths only.

        Reads never call it: a read must not write the host's pending objects.
        """

    @abstractmethod
    def column_names(self, cls: type) -> frozenset[str]:
        """The attributes of the mapped class ``cls`` stored as they are (columns, fields):
        what its ``__activitystream_display__`` may list."""

    @abstractmethod
    def mapped_names(self, cls: type) -> frozenset[str]:
        """Every attribute this ORM maps on ``cls`` (columns, relationships...)."""

    @abstractmethod
    def host_classes(self, host_model: Any) -> Iterator[type]:
        """The classes the host application maps, found from its model package."""

    def other_classes(self) -> Iterator[type]:
        """Classes mapped elsewhere in the process: the last place a stored name is looked for."""
        return iter(())

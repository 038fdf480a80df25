"""Our SQLAlchemy tables under tgext.pluggable's ``rename_tables``.

tgext.pluggable renames a plugged table in place (``__tablename__`` and
``__table__.name`` get the appid as a prefix), then copies it into the host's
metadata, which creates it; our statements use the renamed originals. That
alone is not enough: SQLAlchemy 2.0 copies a foreign key by its target's
``fullname``, which the rename leaves behind, so the reads table's copy would
point at a table that does not exist; index and constraint names, unique per
database, keep ours, so two sites sharing a database (what renaming is for)
would collide; and plugging again in one process (a test suite building
several apps) would prefix the names twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a Ming-only site may have no SQLAlchemy
    from sqlalchemy import Constraint, Index, MetaData


def restore_names(metadata: MetaData, models: Iterable[Any]) -> None:
    """Give our tables their own names back, before tgext.pluggable renames them."""
    for name, table in metadata.tables.items():  # the key is the name at creation
        table.name = table.fullname = name
    for cls in models:
        cls.__tablename__ = cls.__table__.name


def follow_renames(metadata: MetaData, host_metadata: MetaData) -> None:
    """Copy our renamed tables into the host's metadata again, all their names prefixed."""
    renamed = {name: table for name, table in metadata.tables.items() if table.name != name}
    for table in renamed.values():
        table.fullname = table.name  # first: the copies' foreign keys read it
    for name, table in renamed.items():
        host_metadata.remove(host_metadata.tables[table.name])
        copy = table.to_metadata(host_metadata)
        prefix = table.name.removesuffix(name)
        named: list[Index | Constraint] = [*copy.indexes, *copy.constraints]
        for item in named:
            if isinstance(item.name, str):
                item.name = prefix + item.name

"""What a host's code sends to its database while a block runs.

The tests hold query budgets with it, the bench counts statements and replays
our SQL beside the floor's.
"""

import contextlib
from collections.abc import Iterator
from typing import Any

# the top-level collection operations: Ming's own nested calls (a find_one that finds) count once
OPERATIONS = (
    'find',
    'find_one',
    'count_documents',
    'insert_one',
    'insert_many',
    'update_one',
    'update_many',
    'delete_many',
    'aggregate',
)


class Statements(list[str]):
    """The SQL statements sent, in order; their parameters and executemany flags beside them."""

    def __init__(self) -> None:
        super().__init__()
        self.params: list[Any] = []
        self.executemany: list[bool] = []


@contextlib.contextmanager
def sql_statements(engine: Any) -> Iterator[Statements]:
    """The SQL statements ``engine`` sends while the block runs."""
    from sqlalchemy import event

    seen = Statements()

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
        seen.params.append(parameters)
        seen.executemany.append(executemany)

    event.listen(engine, 'before_cursor_execute', record)
    try:
        yield seen
    finally:
        event.remove(engine, 'before_cursor_execute', record)


@contextlib.contextmanager
def collection_operations(mim: bool) -> Iterator[list[str]]:
    """The names of the collection operations (:data:`OPERATIONS`) sent while the block runs.

    ``mim``: on Ming's in-memory MongoDB, else through pymongo to a server.
    """
    from ming import mim as in_memory
    from pymongo.collection import Collection

    cls = in_memory.Collection if mim else Collection
    originals = {name: getattr(cls, name) for name in OPERATIONS}
    seen: list[str] = []
    depth = [0]

    def spy(name, original):
        def wrapper(*args, **kwargs):
            if depth[0] == 0:
                seen.append(name)
            depth[0] += 1
            try:
                return original(*args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapper

    for name, original in originals.items():
        setattr(cls, name, spy(name, original))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(cls, name, original)

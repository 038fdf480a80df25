"""Recipients' integer keys: what the deliveries table names a recipient by.

A fan-out first makes sure each recipient has a row in
``activitystream_recipients`` and learns its key, in one statement per page
of recipients on PostgreSQL (arrays, so the statement's text and plan do not
grow with the page) and two elsewhere; then it writes the deliveries with the
keys. Reads never come here: they name the recipient by type and id and the
database finds the key inside the same statement (see ``storage.key_of``).

No key is cached between transactions: a key read in a transaction that
rolls back may not exist afterwards, so the only safe cache would be one
filled after commit and emptied whenever the table is, which the package
cannot see. The lookup is an index probe per recipient inside the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, exists, func, insert, select, tuple_, union_all

from ..base import Ref
from .schema import Recipient

if TYPE_CHECKING:
    from sqlalchemy import CompoundSelect, Connection, Select

recipients = Recipient.__table__

# recipients per statement: two parameters each, well under SQLite's 32,766
PAGE = 5000
# a recipient another transaction registers while ours looks is found on a retry
ATTEMPTS = 3


def _is_ref(type_: Any, id_: Any) -> Any:
    """Clause: a row of ``activitystream_recipients`` is (``type_``, ``id_``)."""
    return (recipients.c.recipient_type == type_) & (recipients.c.recipient_id == id_)


@cache
def _pg_register_and_read() -> CompoundSelect:
    """PostgreSQL: register the missing recipients of two arrays and read every key.

    The INSERT's own rows come back through RETURNING (the outer SELECT runs
    on the statement's snapshot and does not see them); a recipient another
    transaction inserts meanwhile is skipped by ON CONFLICT and seen on a retry.
    """
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    pairs = func.unnest(
        bindparam('types', type_=ARRAY(String)), bindparam('ids', type_=ARRAY(String))
    )
    wanted = pairs.table_valued('t', 'i').render_derived(name='wanted')
    known = _is_ref(wanted.c.t, wanted.c.i)
    missing = select(wanted.c.t, wanted.c.i).where(~exists().where(known))
    added = (
        pg_insert(recipients)
        .from_select(['recipient_type', 'recipient_id'], missing)
        .on_conflict_do_nothing()
        .returning(recipients.c.id, recipients.c.recipient_type, recipients.c.recipient_id)
        .cte('added')
    )
    found = select(recipients.c.id, recipients.c.recipient_type, recipients.c.recipient_id)
    found = found.join(wanted, known)
    return union_all(found, select(added.c.id, added.c.recipient_type, added.c.recipient_id))


@cache
def _read_keys() -> Select:
    pair = tuple_(recipients.c.recipient_type, recipients.c.recipient_id)
    stmt = select(recipients.c.id, recipients.c.recipient_type, recipients.c.recipient_id)
    return stmt.where(pair.in_(bindparam('refs', expanding=True)))


def _page_keys(connection: Connection, page: Sequence[Ref], insert_or: Any) -> dict[Ref, Any]:
    """Keys of one page of recipients, registering those without one."""
    if connection.dialect.name == 'postgresql':
        params = {'types': [r.type for r in page], 'ids': [r.id for r in page]}
        rows = connection.execute(_pg_register_and_read(), params)
        return {Ref(t, i): key for key, t, i in rows}
    found = _read(connection, page)
    missing = [r for r in page if r not in found]
    if missing:
        add = insert(recipients) if insert_or is None else insert_or.on_conflict_do_nothing()
        connection.execute(add, [dict(recipient_type=t, recipient_id=i) for t, i in missing])
        found.update(_read(connection, missing))
    return found


def _read(connection: Connection, refs: Sequence[Ref]) -> dict[Ref, Any]:
    rows = connection.execute(_read_keys(), {'refs': [tuple(r) for r in refs]})
    return {Ref(t, i): key for key, t, i in rows}


def keys(connection: Connection, refs: Sequence[Ref], insert_or: Any) -> dict[Ref, Any]:
    """The key of each of ``refs`` (distinct), giving one to each recipient that has none.

    ``insert_or`` is the dialect's INSERT ... ON CONFLICT on ``Recipient`` (None
    where there is none: two transactions registering one recipient at once
    then fail on the unique constraint, and the host retries the request).
    """
    found: dict[Ref, Any] = {}
    for start in range(0, len(refs), PAGE):
        page = refs[start : start + PAGE]
        for _ in range(ATTEMPTS):
            found.update(_page_keys(connection, [r for r in page if r not in found], insert_or))
            if len(found) == start + len(page):
                break
        else:
            lost = [r for r in page if r not in found][:3]
            raise RuntimeError(f'activitystream: recipients {lost} could not be registered')
    return found

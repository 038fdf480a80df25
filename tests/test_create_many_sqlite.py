"""SQLite: a batch's actions after its first are numbered by us, in one executemany.

SQLAlchemy sends one INSERT a row on SQLite when RETURNING must follow the
rows' order; the first row takes SQLite's write lock and the largest id
plus one, so the rest are numbered after it, as SQLite itself would have
numbered them one at a time. What is stored is what the row-at-a-time
INSERTs stored: the same ids, times as integer milliseconds, each action's
deliveries under its own id.
"""

import datetime as dt

import pytest
import sqlalchemy as sa

from activitystream import am
from activitystream.storage.sqla import storage
from activitystream.storage.sqla.schema import Action

from .clock import recent
from .harness import environment


@pytest.fixture
def env():
    return environment('sqlite')


def column_types(env, table, *columns):
    typeof = ', '.join(f'typeof({c})' for c in columns)
    with env.engine.connect() as conn:
        return set(conn.exec_driver_sql(f'SELECT DISTINCT {typeof} FROM {table}').all())


def test_a_batch_is_numbered_in_its_order_as_the_row_at_a_time_inserts_were(env):
    alice, bob = env.user('alice'), env.user('bob')
    doc = env.document('Doc')
    env.commit()
    am.create(alice, 'first')  # the ids go on from the largest
    env.commit()
    times = [recent(days=5) + dt.timedelta(milliseconds=7 * i) for i in range(6)]
    items = [
        dict(actor=alice, verb=f'v{i}', timestamp=ts, recipients=[bob] if i % 2 else None)
        | (dict(target=doc, description=f'd{i}') if i % 3 == 0 else {})
        for i, ts in enumerate(times)
    ]
    with env.count_queries() as sent:
        created = am.create_many(items)
    inserts = [s for s in sent if s.startswith('INSERT INTO activitystream_actions')]
    assert len(inserts) == 2  # the first row (RETURNING its id), the rest in one executemany
    ids = [a.id for a in created]
    (earlier,) = [a.id for a in am.get_actions(verb='first')]
    assert ids == list(range(earlier + 1, earlier + 7))
    env.commit()
    env.clear_session()
    stored = {a.id: a for a in am.get_actions(everything=True)}
    for id_, item in zip(ids, items, strict=True):
        action = stored[id_]
        assert (action.verb, action.timestamp, action.description) == (
            item['verb'],
            item['timestamp'],
            item.get('description'),
        )
        assert (action.target is not None) == ('target' in item)
    with env.engine.connect() as conn:
        sql = 'SELECT action_id FROM activitystream_deliveries ORDER BY 1'
        assert conn.exec_driver_sql(sql).scalars().all() == ids[1::2]  # bob's, by their ids
    assert column_types(env, 'activitystream_actions', 'timestamp', 'broadcast', 'public') == {
        ('integer', 'integer', 'integer')
    }


def test_numbering_needs_the_transaction_that_holds_the_write_lock(env):
    """In autocommit, another writer could take the numbers after the first row's."""
    row = dict(actor_type='User', actor_id='1', verb='v', timestamp=recent(), broadcast=True)
    autocommit = sa.create_engine(env.engine.url, isolation_level='AUTOCOMMIT')
    try:
        with autocommit.connect() as conn:
            conn.execute(sa.insert(Action), [row])
            assert not storage._numbers_after(conn)
    finally:
        autocommit.dispose()
    with env.engine.begin() as conn:
        conn.execute(sa.insert(Action), [row])
        assert storage._numbers_after(conn)


def test_a_number_already_taken_fails_never_overwrites(env):
    row = dict(actor_type='User', actor_id='1', verb='v', timestamp=recent(), broadcast=True)
    row |= dict(target_type=None, target_id=None, action_obj_type=None, action_obj_id=None)
    row |= dict(description=None, extra=None, public=True)
    with env.engine.begin() as conn:
        conn.execute(sa.insert(Action), [row, row])
    with pytest.raises(sa.exc.IntegrityError), env.engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(Action.id))).scalar_one()
        storage._insert_numbered(conn, first, [row])  # first + 1 is the second row's

"""SQL: the deliveries name recipients by integer keys from activitystream_recipients.

A key is given once per recipient and kept; on PostgreSQL it is given on a
connection of its own, committed at once, so a transaction that delivered to
a new recipient and stays open does not hold up others delivering to it.
"""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from activitystream import Ref, am
from activitystream.refs import ref_of
from activitystream.storage.sqla import recipients
from activitystream.storage.sqla.schema import Recipient

from .clock import recent
from .harness import environment

WHEN = dt.datetime(2026, 1, 1)


def keys_of(engine, *refs):
    registered = sa.select(Recipient.id, Recipient.recipient_type, Recipient.recipient_id)
    with engine.connect() as conn:
        found = {Ref(t, i): key for key, t, i in conn.execute(registered)}
    return [found.get(ref) for ref in refs]


def test_an_open_transaction_does_not_hold_up_deliveries_to_its_new_recipients():
    env = environment('postgresql')
    newcomer = Ref('User', 'newcomer')
    first, second = env.engine.connect(), env.engine.connect()
    try:
        first.begin()
        recipients.deliver(first, [(newcomer, WHEN, 1)], pg_insert(Recipient))  # left open
        done = threading.Event()

        def other():
            with second.begin():
                second.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                recipients.deliver(second, [(newcomer, WHEN, 2)], pg_insert(Recipient))
            done.set()

        worker = threading.Thread(target=other)
        worker.start()
        worker.join(timeout=10)
        assert done.is_set()  # not waiting for the first transaction to end
        first.rollback()  # the key stays, unused by the first transaction's rows
    finally:
        first.close()
        second.close()
    (key,) = keys_of(env.engine, newcomer)
    with env.engine.connect() as conn:
        rows = conn.execute(
            sa.text('SELECT recipient_key, action_id FROM activitystream_deliveries')
        )
        assert rows.all() == [(key, 2)]


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])
def test_a_recipient_keeps_its_key_through_rollbacks_and_erasure(backend):
    env = environment(backend)
    alice, bob = (ref_of(env.user(name), name) for name in ('alice', 'bob'))
    env.commit()
    am.create(alice, 'waved', recipients=[bob])
    env.clear_session()  # rolled back
    am.create(alice, 'greeted', recipients=[bob], timestamp=recent(days=1))
    env.commit()
    (key,) = keys_of(env.engine, bob)
    assert key is not None
    assert [a.verb for a in am.get_by_recipient(bob).all()] == ['greeted']

    am.erase(bob)
    env.commit()
    assert am.get_by_recipient(bob).count() == 0
    am.create(alice, 'welcomed back', recipients=[bob])
    env.commit()
    assert keys_of(env.engine, bob) == [key]
    assert [a.verb for a in am.get_by_recipient(bob).all()] == ['welcomed back']


def test_registering_takes_no_second_connection_from_the_hosts_pool():
    """A request holds its connection while registering; with a pool of one (every connection
    busy), registering from the host's pool would wait out the pool's timeout and fail."""
    env = environment('postgresql')
    engine = sa.create_engine(env.engine.url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        with engine.begin() as conn:
            recipients.deliver(conn, [(Ref('User', 'first'), WHEN, 1)], pg_insert(Recipient))
        assert keys_of(env.engine, Ref('User', 'first')) != [None]
    finally:
        engine.dispose()


def test_a_fan_out_finds_its_keys_by_index_probes_not_by_reading_every_recipient():
    """A page's keys cost an index probe per recipient of the page: hashing the whole
    table (what PostgreSQL chose for a join) would make every fan-out grow with the
    number of registered recipients, however small its own audience."""
    env = environment('postgresql')
    many = [Ref('User', f'p{i}') for i in range(3000)]
    with env.engine.begin() as conn:
        recipients.deliver(conn, [(ref, WHEN, 1) for ref in many], pg_insert(Recipient))
        conn.exec_driver_sql('ANALYZE activitystream_recipients')
        compiled = recipients._pg_read_keys().compile(dialect=conn.dialect)
        plan = conn.exec_driver_sql(
            f'EXPLAIN {compiled.string}', recipients._pg_arrays(many[:200])
        ).scalars()
        plan = '\n'.join(plan)
        conn.rollback()
    assert 'Index Scan using uq_activitystream_recipients_ref' in plan, plan
    assert 'Seq Scan on activitystream_recipients' not in plan, plan


# -- SQLite: keys read from a JSON text --------------------------------------------------


def sqlite_deliver(env, rows):
    with env.engine.begin() as conn:
        recipients.deliver(conn, rows, sqlite_insert(Recipient))


def delivered(env):
    with env.engine.connect() as conn:
        sql = 'SELECT recipient_key, action_id FROM activitystream_deliveries ORDER BY 2, 1'
        return conn.exec_driver_sql(sql).all()


def plan(conn, stmt):
    sql = str(stmt.compile(dialect=conn.dialect))
    return [row[-1] for row in conn.exec_driver_sql(f'EXPLAIN QUERY PLAN {sql}', ('[]',))]


def test_sqlite_reads_keys_by_the_unique_index_when_the_statistics_call_the_table_small():
    """ANALYZE on a table of one recipient: a join would scan it, the read never does."""
    env = environment('sqlite')
    sqlite_deliver(env, [(Ref('User', 'only'), WHEN, 1)])
    table = Recipient.__tablename__
    with env.engine.begin() as conn:
        conn.exec_driver_sql(f'ANALYZE {table}')
        try:
            read = plan(conn, recipients._json_read_keys())
            n, type_, id_ = recipients._json_refs()
            join = sa.select(n, Recipient.id).join(Recipient, recipients._is_ref(type_, id_))
            joined = plan(conn, join)
        finally:
            conn.exec_driver_sql('DROP TABLE sqlite_stat1')  # the other tests' plans: no stats
    assert f'SCAN {table}' in joined  # the trap: the planner's order for a join
    assert not [step for step in read if step.startswith(f'SCAN {table}')]
    assert [step for step in read if step.startswith(f'SEARCH {table} USING COVERING INDEX')]


def test_sqlite_registers_only_pages_that_name_a_recipient_without_a_key():
    env = environment('sqlite')
    known, new = Ref('User', 'known'), Ref('User', 'new')
    sqlite_deliver(env, [(known, WHEN, 1)])
    with env.count_queries() as sent:
        sqlite_deliver(env, [(known, WHEN, 2), (known, WHEN, 3)])
    assert not [s for s in sent if 'INTO activitystream_recipients' in s]
    assert len(sent) == 2  # the keys read, the deliveries written (one executemany)
    with env.count_queries() as sent:
        sqlite_deliver(env, [(new, WHEN, 4), (known, WHEN, 4)])
    registered = [
        p for s, p in zip(sent, sent.params, strict=True) if 'INTO activitystream_recipients' in s
    ]
    assert registered == [('[["User","new"]]',)]  # only the recipient without a key
    known_key, new_key = keys_of(env.engine, known, new)
    assert delivered(env) == [(known_key, 1), (known_key, 2), (known_key, 3)] + sorted(
        [(known_key, 4), (new_key, 4)]
    )


def test_sqlite_a_recipient_left_without_a_key_is_an_error_not_a_lost_delivery(monkeypatch):
    env = environment('sqlite')
    sqlite_deliver(env, [(Ref('User', 'known'), WHEN, 1)])
    monkeypatch.setattr(recipients, '_json_register', lambda: sa.select(1))  # registers nothing
    with pytest.raises(RuntimeError, match='could not be registered'):
        sqlite_deliver(env, [(Ref('User', 'known'), WHEN, 2), (Ref('User', 'lost'), WHEN, 2)])
    assert [action for _, action in delivered(env)] == [1]  # the failed page wrote nothing


def test_sqlite_without_json_functions_delivers_by_references(monkeypatch):
    env = environment('sqlite')
    monkeypatch.setattr(recipients, '_has_json', lambda connection: False)
    alice, bob = Ref('User', 'alice'), Ref('User', 'bob')
    sqlite_deliver(env, [(alice, WHEN, 1), (bob, WHEN, 1), (alice, WHEN, 2)])
    alice_key, bob_key = keys_of(env.engine, alice, bob)
    assert delivered(env) == sorted(
        [(alice_key, 1), (bob_key, 1), (alice_key, 2)], key=lambda r: r[::-1]
    )


def test_sqlite_recipients_keep_their_exact_ids_nul_characters_included():
    """SQLite's JSON functions end a string at a NUL: such a page goes by references."""
    env = environment('sqlite')
    odd = [Ref('User', 'nul\x00in'), Ref('User', 'nul'), Ref('User', '😀'), Ref('User', '\u2028')]
    sqlite_deliver(env, [(ref, WHEN, 1) for ref in odd])
    sqlite_deliver(env, [(ref, WHEN, 2) for ref in odd[1:]])
    keys = keys_of(env.engine, *odd)
    assert None not in keys
    assert len(set(keys)) == len(odd)
    expected = [(key, 1) for key in keys] + [(key, 2) for key in keys[1:]]
    assert delivered(env) == sorted(expected, key=lambda row: row[::-1])

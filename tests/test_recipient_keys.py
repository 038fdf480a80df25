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

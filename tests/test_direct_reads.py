"""The hot reads go to the DBAPI connection directly, and answer exactly as through SQLAlchemy.

SQLite runs them through sqlite3, PostgreSQL runs their prepared ``EXECUTE``
through psycopg2; both only while nothing watches SQLAlchemy's cursor events:
a listener (here the tests' own query counter) sends them through SQLAlchemy
again, which is also how the answers of both ways are compared. Errors are
SQLAlchemy's, and a connection the server dropped is invalidated.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from activitystream import am
from activitystream.storage.sqla import prepared

from .clock import recent
from .harness import environment, postgresql_url

SQL = ['sqlite', 'postgresql']


@pytest.fixture(params=SQL)
def inbox(request):
    env = environment(request.param)
    alice, bob = env.user('alice'), env.user('bob')
    start = recent(days=1)
    made = am.create_many(
        [
            dict(
                actor=alice if i % 3 else bob,
                verb=f'v{i}',
                recipients=None if i % 2 else [bob],
                timestamp=start + dt.timedelta(minutes=i),
                extra={'n': i},
            )
            for i in range(12)
        ]
    )
    am.mark_seen(bob, until=made[4].timestamp)
    am.mark_read(bob, [made[8]])
    am.dismiss(bob, [made[5]])
    env.commit()
    return env, bob


def answers(bob):
    page = am.get_by_recipient(bob).limit(5).all()
    rows = [(a.id, a.verb, a.timestamp, a.broadcast, a.public, a.actor_ref, a.extra) for a in page]
    unseen = am.count_not_seen_by_recipient(bob)
    return rows, unseen, am.count_unread_by_recipient(bob), am.last_seen(bob), am.seen_until(bob)


def test_the_hot_reads_skip_sqlalchemy_and_answer_the_same(inbox, monkeypatch):
    env, bob = inbox
    answers(bob)  # the statements prepared (PostgreSQL), the transaction begun
    through = []
    for name in ('execute', 'exec_driver_sql'):
        original = getattr(Connection, name)

        def counted(self, statement, *args, original=original, **kwargs):
            through.append(statement)
            return original(self, statement, *args, **kwargs)

        monkeypatch.setattr(Connection, name, counted)
    assert am.count_not_seen_by_recipient(bob) >= 0
    assert am.count_unread_by_recipient(bob) >= 0
    assert am.get_by_recipient(bob).limit(5).all()
    assert through == []  # the seen state, the counts and the page: none through SQLAlchemy
    direct = answers(bob)
    monkeypatch.undo()

    with env.count_queries() as sent:  # a listener: SQLAlchemy runs them again
        watched = answers(bob)
    assert len(sent) >= 4  # the page, two counts, the seen state (PostgreSQL: their EXECUTE)
    assert watched == direct
    rows, unseen, unread, last_seen, _ = direct
    # bob's own (v0, v3, v6, v9) and the dismissed v5 are not his to see
    assert [verb for _, verb, *_ in rows] == ['v11', 'v10', 'v8', 'v7', 'v4']
    assert isinstance(rows[0][2], dt.datetime) and isinstance(last_seen, dt.datetime)
    assert [broadcast for _, _, _, broadcast, *_ in rows] == [True, False, False, True, False]
    assert rows[0][6] == {'n': 11}
    # unseen: after v4, v7, v8, v10 and v11; unread: v1, v2, v4, v7, v10 and v11 (v8 is read)
    assert (unseen, unread) == (4, 6)


def test_a_database_error_is_sqlalchemys(inbox, monkeypatch):
    env, bob = inbox
    monkeypatch.setattr(prepared, '_losses', [0])  # the process's count of lost statements
    answers(bob)  # prepared on this connection (PostgreSQL)
    conn = env.model.DBSession.connection()
    if env.backend == 'sqlite':
        conn.exec_driver_sql('ALTER TABLE activitystream_seen RENAME TO elsewhere')
        error, expected = sa.exc.OperationalError, 'no such table'
    else:  # the server forgets our prepared statements, as a pooler's DISCARD ALL would
        conn.exec_driver_sql('DEALLOCATE ALL')
        error, expected = sa.exc.DBAPIError, 'does not exist'
    try:
        with pytest.raises(error, match=expected) as raised:
            am.count_unread_by_recipient(bob)
        assert not raised.value.connection_invalidated
    finally:
        if env.backend == 'sqlite':  # SQLite's DDL runs outside pysqlite's transactions
            conn.exec_driver_sql('ALTER TABLE elsewhere RENAME TO activitystream_seen')
        env.clear()  # the tables emptied too
    assert am.count_unread_by_recipient(env.user('carol')) == 0  # and the reads work again
    # (PostgreSQL: prepared afresh, the connection's lost statements forgotten)


def test_a_connection_the_server_dropped_is_invalidated():
    env = environment('postgresql')
    bob = env.user('bob')
    env.commit()
    am.count_unread_by_recipient(bob)  # prepared, and the transaction begun
    pid = env.model.DBSession.connection().exec_driver_sql('SELECT pg_backend_pid()').scalar()
    admin = sa.create_engine(postgresql_url())
    with admin.connect() as conn:
        conn.exec_driver_sql(f'SELECT pg_terminate_backend({int(pid)})')
    admin.dispose()
    with pytest.raises(sa.exc.OperationalError) as raised:
        am.count_unread_by_recipient(bob)
    assert raised.value.connection_invalidated
    env.clear()
    assert am.count_unread_by_recipient(bob) == 0  # a new connection, not the dead one

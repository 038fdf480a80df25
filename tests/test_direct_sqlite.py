"""SQLite: the hot reads go to sqlite3 directly, and answer exactly as through SQLAlchemy.

Only while nothing watches SQLAlchemy's cursor events: a listener (here the
tests' own query counter) sends them through SQLAlchemy again, which is also
how the answers of both ways are compared.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from activitystream import am

from .clock import recent
from .harness import environment


@pytest.fixture
def sqlite_inbox():
    env = environment('sqlite')
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


def test_the_hot_reads_skip_sqlalchemy_and_answer_the_same(sqlite_inbox, monkeypatch):
    env, bob = sqlite_inbox
    env.model.DBSession.connection()  # the transaction begun as a request's would be
    through = []
    execute = Connection.execute

    def counted(self, statement, *args, **kwargs):
        through.append(statement)
        return execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, 'execute', counted)
    assert am.count_not_seen_by_recipient(bob) >= 0
    assert am.count_unread_by_recipient(bob) >= 0
    assert through == []  # the seen state and the counts: none through SQLAlchemy
    direct = answers(bob)
    monkeypatch.undo()

    with env.count_queries() as sent:  # a listener: SQLAlchemy runs them again
        watched = answers(bob)
    assert any('activitystream_deliveries' in statement for statement in sent)
    assert watched == direct
    rows, unseen, unread, last_seen, _ = direct
    # bob's own (v0, v3, v6, v9) and the dismissed v5 are not his to see
    assert [verb for _, verb, *_ in rows] == ['v11', 'v10', 'v8', 'v7', 'v4']
    assert isinstance(rows[0][2], dt.datetime) and isinstance(last_seen, dt.datetime)
    assert [broadcast for _, _, _, broadcast, *_ in rows] == [True, False, False, True, False]
    assert rows[0][6] == {'n': 11}
    # unseen: after v4, v7, v8, v10 and v11; unread: v1, v2, v4, v7, v10 and v11 (v8 is read)
    assert (unseen, unread) == (4, 6)


def test_a_database_error_is_sqlalchemys(sqlite_inbox):
    env, bob = sqlite_inbox
    conn = env.model.DBSession.connection()
    conn.exec_driver_sql('ALTER TABLE activitystream_seen RENAME TO elsewhere')
    try:
        with pytest.raises(sa.exc.OperationalError, match='no such table'):
            am.count_unread_by_recipient(bob)
    finally:  # SQLite's DDL outside a transaction of pysqlite's: renamed back by hand
        conn.exec_driver_sql('ALTER TABLE elsewhere RENAME TO activitystream_seen')
        env.clear()
    assert am.count_unread_by_recipient(bob) >= 0

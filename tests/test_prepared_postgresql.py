"""The inbox page and its counts as server-side prepared statements (PostgreSQL, psycopg2).

Prepared once per connection, then executed; the answers are those of the
plain statements; a statement the server refuses runs unprepared, and the
plug option ``prepared_statements=False`` sends plain statements.
"""

import logging
import random
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from activitystream import am, model, refs
from activitystream.storage.sqla import prepared

from .harness import environment, postgresql_url


@pytest.fixture
def env():
    return environment('postgresql')


def prepared_here(env):
    """The names of the statements prepared on the session's connection."""
    conn = env.model.DBSession.connection()
    sql = "SELECT name FROM pg_prepared_statements WHERE name LIKE 'activitystream_%%'"
    return set(conn.exec_driver_sql(sql).scalars())


def people(env, count):
    rng = random.Random(3)
    users = [env.user(f'u{i}') for i in range(count)]
    for i in range(40):
        broadcast = i % 9 == 0
        am.create(users[i % count], f'v{i}', recipients=None if broadcast else rng.sample(users, 3))
    am.mark_seen(users[1])
    env.commit()
    return users


def answers(users):
    return [
        ([a.id for a in am.get_by_recipient(u).limit(5).all()], am.count_not_seen_by_recipient(u))
        for u in users
    ]


def test_the_hot_reads_run_prepared_once_per_connection(env):
    users = people(env, 6)
    with env.count_queries() as sent:
        first = answers(users)
    assert sent and all(s.startswith('EXECUTE activitystream_') for s in sent), sent
    names = prepared_here(env)
    assert len(names) >= 2  # the page and the count at least
    assert answers(users) == first
    assert prepared_here(env) == names  # not prepared again


def test_prepared_and_plain_statements_give_the_same_answers(env, monkeypatch):
    users = people(env, 8)
    with_prepared = answers(users)
    monkeypatch.setattr(model.storage(), 'prepare_reads', False)
    with env.count_queries() as sent:
        plain = answers(users)
    assert not [s for s in sent if s.startswith('EXECUTE')]
    assert plain == with_prepared
    assert any(ids for ids, _ in plain) and any(count for _, count in plain)


def test_a_statement_the_server_refuses_runs_unprepared(env, monkeypatch, caplog):
    users = people(env, 4)
    expected = answers(users)

    def refused(stmt, dialect):
        found = real(stmt, dialect)
        return found and prepared._Prepared(
            found.name + '_broken', 'PREPARE x AS SELEC 1', found.execute, found.compiled
        )

    real = prepared._prepared
    monkeypatch.setattr(prepared, '_prepared', refused)
    monkeypatch.setattr(prepared, '_refused', set())
    with caplog.at_level(logging.WARNING, logger=prepared.__name__):
        assert answers(users) == expected  # and the transaction is still usable after
    assert 'could not prepare' in caplog.text
    am.create(users[0], 'after', recipients=[users[1]])
    env.commit()
    assert am.count_not_seen_by_recipient(users[1]) >= 1


def test_a_lock_wait_while_preparing_leaves_preparing_on(env, monkeypatch):
    """PREPARE waits for the tables' locks like the statement: a wait that times out once
    runs that call unprepared (and fails like it), not every later one."""
    users = people(env, 3)
    monkeypatch.setattr(prepared, '_refused', set())
    conn = env.model.DBSession.connection()  # a new transaction: no lock on our tables yet
    conn.exec_driver_sql('DEALLOCATE ALL')
    conn.connection.info.pop(prepared._INFO_KEY, None)
    holder = sa.create_engine(postgresql_url())
    try:
        with holder.connect() as locking:
            locking.exec_driver_sql('LOCK TABLE activitystream_deliveries IN ACCESS EXCLUSIVE MODE')
            conn.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
            with pytest.raises(sa.exc.OperationalError, match='lock timeout'):
                am.get_by_recipient(users[0]).limit(5).all()
    finally:
        holder.dispose()
    env.clear_session()
    assert prepared._refused == set()
    with env.count_queries() as sent:
        am.get_by_recipient(users[0]).limit(5).all()
    assert [s for s in sent if s.startswith('EXECUTE activitystream_')], sent


def test_a_page_of_entities_loads_prepared_else_plain(env, monkeypatch):
    users = people(env, 3)
    doc, team = env.document('Plan'), env.team('t')
    env.commit()
    wanted = [refs.ref_of(e, 'e') for e in (*users, doc, team)]

    def names():
        env.clear_session()
        found = refs.resolve(model.storage(), wanted)
        return [refs.display(found[ref]) for ref in wanted]

    with env.count_queries() as sent:
        first = names()
    assert [s.split('(')[0] for s in sent] == [f'EXECUTE {prepared.definition(sent[0]).split()[1]}']
    assert first == ['u0', 'u1', 'u2', 'Plan', 'team t']
    monkeypatch.setattr(model.storage(), 'prepare_reads', False)
    with env.count_queries() as sent:
        assert names() == first
    assert len(sent) == 1 and sent[0].startswith('SELECT')
    monkeypatch.setattr(model.storage(), 'prepare_reads', True)

    def refused(body, names):
        found = real(body, names)
        return prepared._Prepared(
            found.name + '_broken', 'PREPARE x AS SELEC 1', found.execute, None
        )

    real = prepared._text_prepared
    monkeypatch.setattr(prepared, '_text_prepared', refused)
    monkeypatch.setattr(prepared, '_refused', set())
    with env.count_queries() as sent:
        assert names() == first  # and the transaction is still usable after
    assert len(sent) == 1 and sent[0].startswith('SELECT')


def test_the_menu_page_names_its_limit_and_settles_on_one_plan(env):
    """PostgreSQL plans a prepared statement per call until one plan for all calls (its
    generic plan) looks no dearer. It estimates a LIMIT parameter at a tenth of the rows,
    which at the seed size made the generic plan look ten times dearer: the page was planned
    on every call (0.28 ms of 0.5). The first page's LIMIT is a number; later pages by offset
    keep parameters (one statement per offset would be one PREPARE each)."""
    users = people(env, 12)
    for user in users * 2:
        am.get_by_recipient(user).limit(10).all()
    am.get_by_recipient(users[0]).limit(10).offset(10).all()
    conn = env.model.DBSession.connection()
    sql = (
        'SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements '
        "WHERE name LIKE 'activitystream_%%' AND statement LIKE '%%activitystream_deliveries%%'"
    )
    found = {statement.rstrip().endswith('LIMIT 10'): plans for statement, *plans in
             conn.exec_driver_sql(sql).all()}  # fmt: skip
    assert set(found) == {True, False}  # the first pages, and the page by offset
    generic, custom = found[True]
    assert custom <= 5 and generic >= 19, (generic, custom)


def test_the_unseen_count_settles_on_one_plan(env):
    """The unseen count bounds each range by a start time. A bare parameter is estimated
    at a third of the rows in the generic plan and at its value's own range in a per-call
    plan, so the generic plan looked dearer and the count was planned on every call (0.31
    ms a count at the seed size, 0.20 with one plan). Read through a subquery, no plan
    knows the value, and after a few calls every count runs the generic plan."""
    users = people(env, 12)
    old = datetime.utcnow() - timedelta(days=3)
    actor = env.user('herald')
    am.create_many([{'actor': actor, 'verb': 'told', 'timestamp': old} for _ in range(3000)])
    env.commit()
    env.model.DBSession.connection().exec_driver_sql('ANALYZE activitystream_actions')
    for user in users:
        am.mark_seen(user)
    env.commit()
    conn = env.model.DBSession.connection()
    sql = (
        'SELECT generic_plans, custom_plans FROM pg_prepared_statements '
        "WHERE name LIKE 'activitystream_%%' AND statement LIKE '%%count(*)%%'"
    )

    # prepared afresh, as on a new connection: earlier tests' calls on this pooled one,
    # planned on other data, would weigh in its choice
    conn.exec_driver_sql('DEALLOCATE ALL')
    conn.connection.info.pop(prepared._INFO_KEY, None)
    for user in users * 2:
        assert am.count_not_seen_by_recipient(user) == 0
    [(generic, custom)] = conn.exec_driver_sql(sql).all()
    assert custom <= 5 and generic >= 19, (generic, custom)


def backend_pid(env):
    return env.model.DBSession.connection().exec_driver_sql('SELECT pg_backend_pid()').scalar()


def forget_prepared(env):
    """What a pooler's ``DISCARD ALL`` does to the statements of the session's connection."""
    env.model.DBSession.connection().exec_driver_sql('DEALLOCATE ALL')


def test_statements_the_server_forgot_are_prepared_again(env, monkeypatch, caplog):
    monkeypatch.setattr(prepared, '_losses', [0])
    users = people(env, 4)
    expected = answers(users)
    pid = backend_pid(env)
    forget_prepared(env)
    with pytest.raises(sa.exc.DBAPIError, match='does not exist'):
        answers(users)  # the transaction is aborted: this read fails
    env.clear_session()
    assert backend_pid(env) == pid  # the same connection, which had them prepared
    with env.count_queries() as sent:
        assert answers(users) == expected
    assert [s for s in sent if s.startswith('EXECUTE activitystream_')], sent
    assert prepared_here(env)
    assert 'prepared again from the next transaction' in caplog.text


def test_the_entity_statement_forgotten_is_prepared_again(env, monkeypatch):
    monkeypatch.setattr(prepared, '_losses', [0])
    users = people(env, 3)
    wanted = [refs.ref_of(u, 'u') for u in users]
    refs.resolve(model.storage(), wanted)  # prepared
    forget_prepared(env)
    with pytest.raises(sa.exc.DBAPIError, match='does not exist'):
        refs.resolve(model.storage(), wanted)
    env.clear_session()
    found = refs.resolve(model.storage(), wanted)
    assert [refs.display(found[ref]) for ref in wanted] == ['u0', 'u1', 'u2']
    assert prepared._losses == [1]


def test_statements_lost_again_and_again_run_unprepared(env, monkeypatch, caplog):
    """As behind PgBouncer's transaction mode: the process stops preparing, and says so."""
    monkeypatch.setattr(prepared, '_losses', [0])
    users = people(env, 4)
    expected = answers(users)
    for _ in range(prepared.LOSSES_BEFORE_OFF):
        forget_prepared(env)
        with pytest.raises(sa.exc.DBAPIError, match='does not exist'):
            answers(users)
        env.clear_session()
        answers(users)  # prepared again, until the last loss
    with env.count_queries() as sent:
        assert answers(users) == expected
    assert sent and not [s for s in sent if s.startswith('EXECUTE')], sent
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and 'prepared_statements=False' in errors[0].getMessage()

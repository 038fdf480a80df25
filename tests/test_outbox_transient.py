"""A database busy or away for a moment is retried with a line in the log; a defect gets its
traceback.

The errors are real: a write into a SQLite file another connection holds, a
PostgreSQL lock wait past ``lock_timeout``, a cancelled statement, a
connection the server terminated, a MongoDB server that does not answer. Where
a job meets one of them cannot be timed from a test, so the job's handler
raises the error caught beforehand.
"""

import logging
import sqlite3
import time

import pymongo
import pytest
import sqlalchemy as sa

from activitystream import delivery, model
from activitystream.delivery import runner
from activitystream.storage.base import NewJob
from activitystream.timeutil import utcnow

from . import harness
from .harness import build_app
from .subscription_support import free_port

BACKENDS = ['sqlite', 'postgresql', 'ming']
FAULT: list[BaseException] = []  # what the test job's handler raises


def _raise(storage, job):
    raise FAULT[0]


def _caught(run):
    try:
        run()
    except Exception as exc:  # noqa: BLE001 - the error is what is wanted
        return exc
    raise AssertionError('no error')


def sqlite_faults(tmp_path):
    path = tmp_path / 'busy.sqlite'
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute('CREATE TABLE t (x)')
    holder.execute('BEGIN IMMEDIATE')  # the write lock, held
    engine = sa.create_engine(f'sqlite:///{path}', connect_args={'timeout': 0})
    try:
        with engine.connect() as conn:
            busy = _caught(lambda: conn.exec_driver_sql('INSERT INTO t VALUES (1)'))
        with engine.connect() as conn:
            missing = _caught(lambda: conn.exec_driver_sql('SELECT * FROM nowhere'))
    finally:
        holder.close()
        engine.dispose()
    return [busy], [missing]  # both are sqlite3's OperationalError


def postgresql_faults():
    engine = sa.create_engine(harness.PG_URL)
    try:
        with engine.connect() as holder, engine.connect() as conn:
            holder.exec_driver_sql('SELECT pg_advisory_lock(4242)')
            conn.exec_driver_sql("SET lock_timeout = '20ms'")
            locked = _caught(lambda: conn.exec_driver_sql('SELECT pg_advisory_lock(4242)'))
            conn.rollback()
            conn.exec_driver_sql("SET statement_timeout = '20ms'")
            cancelled = _caught(lambda: conn.exec_driver_sql('SELECT pg_sleep(1)'))
            conn.rollback()
            conn.exec_driver_sql('RESET ALL')
            divided = _caught(lambda: conn.exec_driver_sql('SELECT 1 / 0'))
            conn.rollback()
            pid = conn.exec_driver_sql('SELECT pg_backend_pid()').scalar()
            holder.exec_driver_sql(f'SELECT pg_terminate_backend({int(pid)})')
            lost = _caught(lambda: conn.exec_driver_sql('SELECT 1'))
            holder.exec_driver_sql('SELECT pg_advisory_unlock(4242)')
    finally:
        engine.dispose()
    assert lost.connection_invalidated
    return [locked, cancelled, lost], [divided]


def ming_faults():
    client = pymongo.MongoClient(f'mongodb://127.0.0.1:{free_port()}/', serverSelectionTimeoutMS=50)
    try:
        away = _caught(lambda: client.db.c.find_one())
    finally:
        client.close()
    db = model.storage().session.impl.db
    db.activitystream_transient_test.insert_one({'_id': 1})
    twice = _caught(lambda: db.activitystream_transient_test.insert_one({'_id': 1}))
    db.drop_collection('activitystream_transient_test')
    return [away], [twice]


def faults(backend, tmp_path):
    """(real errors of a database busy or away, real errors of a defect) on ``backend``."""
    if backend == 'sqlite':
        return sqlite_faults(tmp_path)
    if backend == 'postgresql':
        return postgresql_faults()
    return ming_faults()


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_storage_tells_a_busy_or_lost_database_from_a_defect(backend, tmp_path):
    build_app(backend)
    passing, defects = faults(backend, tmp_path)
    storage = model.storage()
    assert [storage.transient(e) for e in passing] == [True] * len(passing), passing
    assert not any(storage.transient(e) for e in [*defects, ValueError('x'), KeyError('k')])


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_job_meeting_a_busy_database_is_retried_with_one_line_logged(
    backend, tmp_path, monkeypatch, caplog
):
    env = build_app(backend)
    monkeypatch.setattr(runner, 'kick', lambda: None)  # drained below, not by the thread
    monkeypatch.setitem(runner.HANDLERS, 'test-fault', f'{__name__}:_raise')
    passing, defects = faults(backend, tmp_path)
    caplog.set_level(logging.WARNING, logger='activitystream')
    for error, traceback in ((passing[0], False), (defects[0], True)):
        FAULT[:] = [error]
        model.storage().add_jobs([NewJob(kind='test-fault', payload={})], utcnow())
        env.commit()
        caplog.clear()
        report = delivery.drain()
        assert (report.done, report.retried) == (0, 1)
        failed = [r for r in caplog.records if 'test-fault job' in r.getMessage()]
        assert [r.levelno for r in failed if 'failed (attempt 1)' in r.getMessage()] == [
            logging.WARNING
        ]
        assert any(r.exc_info for r in failed) == traceback, failed


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_worker_thread_meeting_a_busy_database_logs_one_line_and_goes_on(
    backend, tmp_path, caplog
):
    build_app(backend)
    passing, defects = faults(backend, tmp_path)
    rounds = []

    def work():
        rounds.append(FAULT[0])
        raise FAULT[0]

    caplog.set_level(logging.WARNING, logger='activitystream')
    worker = runner.Worker('test-transient', work)
    worker.start()
    try:
        for error, traceback in ((passing[0], False), (defects[0], True)):
            FAULT[:] = [error]
            caplog.clear()
            done = len(rounds)
            worker.wake.set()
            for _ in range(200):  # its round ends with the log record
                if len(rounds) > done and caplog.records:
                    break
                time.sleep(0.01)
            [record] = [r for r in caplog.records if 'test-transient thread' in r.getMessage()]
            assert bool(record.exc_info) == traceback
            assert record.levelno == (logging.ERROR if traceback else logging.WARNING)
        assert worker.is_alive()
    finally:
        worker.stopping = True
        worker.wake.set()
        worker.join(5)

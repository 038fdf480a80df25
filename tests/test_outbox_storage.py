"""The outbox storage contract (``OutboxStorage``) on every backend: jobs, leases, dead letters.

Times are given, not read from a clock: a lease ends when a later ``now`` says so.
"""

import datetime as dt
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from activitystream import model
from activitystream.storage.base import NewJob, Ref

from .harness import BACKENDS, environment

T0 = dt.datetime(2026, 3, 1, 12, 0)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def outbox(env):
    return model.storage()


def added(env, storage, *jobs, ready=True):
    """Ids of ``jobs`` added at T0, committed."""
    ids = storage.add_jobs(jobs, T0, ready=ready)
    env.commit()
    return ids


def claim(env, storage, owner, now, lease_until, limit=10):
    """The ids and attempts of the jobs ``owner`` claimed, committed."""
    jobs = storage.claim_jobs(owner, limit, now, lease_until)
    env.commit()
    return [(job.id, job.attempts) for job in jobs]


def subscribe_many(env, rows):
    """Store (subscriber, object, created) rows at once: one by one, mim takes 30 s for 2,500."""
    docs = [
        dict(
            subscriber_type=subscriber.type,
            subscriber_id=subscriber.id,
            object_type=obj.type,
            object_id=obj.id,
            created=created,
        )
        for subscriber, obj, created in rows
    ]
    if env.backend in ('sqlite', 'postgresql'):
        env.model.DBSession.execute(sa.insert(model.Subscription), docs)
    else:
        env.db['activitystream_subscriptions'].insert_many(docs)
    env.commit()


def test_each_priority_is_a_queue_of_its_own(env, outbox):
    low = added(env, outbox, NewJob('feed', {'n': 1}, priority='low'))
    high = added(env, outbox, NewJob('mail', {'n': 2}), NewJob('mail', {'n': 3}, priority='high'))
    taken = outbox.claim_jobs('w1', 10, at(1), at(6), 'high')
    env.commit()
    assert sorted(job.id for job in taken) == sorted(high)
    assert {job.priority for job in taken} == {'high'}
    (job,) = outbox.claim_jobs('w2', 10, at(1), at(6), 'low')
    env.commit()
    assert (job.id, job.priority, job.payload) == (low[0], 'low', {'n': 1})
    assert outbox.claim_jobs('w3', 10, at(1), at(6)) == []  # 'high' by default: all leased
    with pytest.raises(ValueError, match='priority must be one of high, low'):
        outbox.add_jobs([NewJob('mail', {}, priority='urgent')], T0)


def test_jobs_are_listed_by_kind_and_failure(env, outbox):
    ids = added(
        env,
        outbox,
        NewJob('deliver', {'n': 1}),
        NewJob('deliver', {'n': 2}, error='SMTP down'),
        NewJob('push', {'n': 3}, error='Redis down'),
    )
    assert [job.id for job in outbox.jobs(None, None, kind='deliver')] == ids[:2]
    assert [job.id for job in outbox.jobs(None, None, failed=True)] == ids[1:]
    assert [job.id for job in outbox.jobs(False, None, kind='deliver', failed=True)] == [ids[1]]
    assert outbox.jobs(True, None, kind='deliver') == []


def test_jobs_are_added_claimed_and_finished(env, outbox):
    mail, push = NewJob('mail', {'to': ['bob'], 'n': 1}), NewJob('push', {}, available_at=at(2))
    ids = added(env, outbox, mail, push)
    assert len(ids) == 2 and ids[0] != ids[1]
    assert outbox.job_counts() == {'pending': 2, 'dead': 0}

    (job,) = outbox.claim_jobs('w1', 10, at(1), at(6))  # the push is not due yet
    env.commit()
    assert (job.id, job.kind, job.payload, job.key) == (ids[0], 'mail', mail.payload, None)
    assert (job.attempts, job.available_at, job.dead, job.error) == (1, at(6), False, None)
    assert job.created == T0
    assert claim(env, outbox, 'w2', at(2), at(7)) == [(ids[1], 1)]
    assert claim(env, outbox, 'w3', at(3), at(8)) == []  # both leased

    assert outbox.finish_job(ids[0], 'w1') is True
    assert outbox.finish_job(ids[0], 'w1') is False  # gone
    env.commit()
    assert [j.id for j in outbox.jobs(None, None)] == [ids[1]]
    assert outbox.job_counts() == {'pending': 1, 'dead': 0}


def test_claims_take_the_oldest_due_first_up_to_the_limit(env, outbox):
    jobs = [NewJob('n', {'i': i}, available_at=at(-i)) for i in range(5)]
    ids = added(env, outbox, *jobs)
    assert claim(env, outbox, 'w1', at(1), at(6), limit=2) == [(ids[3], 1), (ids[4], 1)]
    assert claim(env, outbox, 'w2', at(1), at(6), limit=2) == [(ids[1], 1), (ids[2], 1)]
    assert claim(env, outbox, 'w3', at(1), at(6), limit=2) == [(ids[0], 1)]


def test_a_key_is_added_once(env, outbox):
    first = added(env, outbox, NewJob('fan-out', {'page': 1}, key='a'), NewJob('n', {}, key='b'))
    again = [
        NewJob('fan-out', {'page': 2}, key='c'),
        NewJob('fan-out', {'page': 1}, key='a'),  # a replayed step: skipped
        NewJob('n', {}),
        NewJob('n', {}),  # no key: never a duplicate
        NewJob('n', {}, key='d'),
        NewJob('n', {}, key='d'),  # twice in one call: once
    ]
    second = added(env, outbox, *again)
    assert len(second) == 4 and not set(first) & set(second)
    stored = outbox.jobs(None, None)
    assert sorted(j.id for j in stored) == sorted(first + second)
    assert sorted((j.key, j.payload.get('page')) for j in stored if j.key) == [
        ('a', 1),
        ('b', None),
        ('c', 2),
        ('d', None),
    ]
    assert added(env, outbox, NewJob('n', {}, key='a')) == []
    # a key guards a job while it exists: once done and deleted, it may come again
    (job,) = [j for j in stored if j.key == 'b']
    outbox.claim_jobs('w1', 10, at(1), at(6))
    assert outbox.finish_job(job.id, 'w1') is True
    env.commit()
    assert len(added(env, outbox, NewJob('n', {}, key='b'))) == 1


def test_a_lease_keeps_a_job_until_it_ends_then_it_comes_back(env, outbox):
    (job_id,) = added(env, outbox, NewJob('mail', {}))
    assert claim(env, outbox, 'w1', at(1), at(6)) == [(job_id, 1)]
    assert claim(env, outbox, 'w2', at(5), at(10)) == []
    # w1 died: its lease ends and w2 gets the job, the claim counted
    assert claim(env, outbox, 'w2', at(6), at(11)) == [(job_id, 2)]
    # w1 was only slow: the job is w2's now
    assert outbox.finish_job(job_id, 'w1') is False
    assert outbox.reschedule_job(job_id, 'w1', at(20), error='late') is False
    env.commit()
    (job,) = outbox.jobs(None, None)
    assert (job.available_at, job.error, job.attempts) == (at(11), None, 2)
    assert outbox.finish_job(job_id, 'w2') is True
    env.commit()
    assert outbox.jobs(None, None) == []


def test_reschedule_gives_a_job_back_later_or_as_a_dead_letter(env, outbox):
    (job_id,) = added(env, outbox, NewJob('emit', {'left': [1, 2, 3]}))
    claim(env, outbox, 'w1', at(1), at(6))
    assert outbox.reschedule_job(job_id, 'w1', at(10), payload={'left': [3]}, error='451') is True
    env.commit()
    (job,) = outbox.jobs(False, None)
    assert (job.payload, job.error, job.available_at, job.attempts) == (
        {'left': [3]},
        '451',
        at(10),
        1,
    )
    assert outbox.finish_job(job_id, 'w1') is False  # given back: no longer w1's
    assert claim(env, outbox, 'w2', at(9), at(14)) == []
    assert claim(env, outbox, 'w2', at(10), at(15)) == [(job_id, 2)]

    assert outbox.reschedule_job(job_id, 'w2', at(16)) is True  # payload and error kept
    env.commit()
    (job,) = outbox.jobs(None, None)
    assert (job.payload, job.error, job.dead) == ({'left': [3]}, '451', False)

    claim(env, outbox, 'w3', at(16), at(21))
    assert outbox.reschedule_job(job_id, 'w3', at(16), error='550 no such user', dead=True)
    env.commit()
    (job,) = outbox.jobs(True, None)
    assert (job.dead, job.error, job.attempts) == (True, '550 no such user', 3)
    assert outbox.jobs(False, None) == []
    assert outbox.job_counts() == {'pending': 0, 'dead': 1}
    assert claim(env, outbox, 'w4', at(100), at(105)) == []  # never claimed again


def test_dead_jobs_are_revived_or_purged_and_pending_work_never_purged(env, outbox):
    ids = added(env, outbox, *(NewJob('n', {'i': i}) for i in range(4)))
    claim(env, outbox, 'w1', at(1), at(6), limit=3)
    for job_id in ids[:3]:
        assert outbox.reschedule_job(job_id, 'w1', at(2), error='boom', dead=True)
    env.commit()
    assert outbox.job_counts() == {'pending': 1, 'dead': 3}
    assert [j.id for j in outbox.jobs(True, 2)] == ids[:2]  # oldest first, limited

    assert outbox.revive_jobs([ids[0], ids[3]], at(20)) == 1  # ids[3] is not dead
    env.commit()
    revived = {j.id: j for j in outbox.jobs(False, None)}
    assert set(revived) == {ids[0], ids[3]}
    assert (revived[ids[0]].available_at, revived[ids[0]].attempts) == (at(20), 0)
    assert claim(env, outbox, 'w2', at(20), at(25)) == [(ids[0], 1), (ids[3], 1)]

    assert outbox.purge_jobs([ids[1], ids[3]]) == 1  # ids[3] is pending (and claimed)
    assert outbox.purge_jobs(None) == 1
    assert outbox.purge_jobs(None) == 0
    env.commit()
    assert sorted(j.id for j in outbox.jobs(None, None)) == [ids[0], ids[3]]
    assert outbox.job_counts() == {'pending': 2, 'dead': 0}

    for job_id in (ids[0], ids[3]):
        assert outbox.reschedule_job(job_id, 'w2', at(30), dead=True)
    assert outbox.revive_jobs(None, at(40)) == 2
    env.commit()
    assert outbox.job_counts() == {'pending': 2, 'dead': 0}


def test_jobs_added_not_ready_wait_for_mark_jobs_ready(env, outbox):
    waiting = added(env, outbox, NewJob('n', {}), NewJob('n', {}), ready=False)
    (at_once,) = added(env, outbox, NewJob('n', {}))
    assert outbox.job_counts() == {'pending': 3, 'dead': 0}  # pending, not yet claimable
    assert claim(env, outbox, 'w1', at(1), at(6)) == [(at_once, 1)]
    outbox.mark_jobs_ready(waiting[:1])
    outbox.mark_jobs_ready([])
    env.commit()
    assert claim(env, outbox, 'w1', at(1), at(6)) == [(waiting[0], 1)]
    outbox.mark_jobs_ready(waiting)
    env.commit()
    assert claim(env, outbox, 'w1', at(1), at(6)) == [(waiting[1], 1)]


def test_a_unit_of_work_commits_when_it_ends_where_the_backend_has_transactions(env, outbox):
    ids = added(env, outbox, NewJob('n', {}), NewJob('n', {}))
    with outbox.unit_of_work() as own:
        assert [j.id for j in own.claim_jobs('w1', 1, at(1), at(6))] == ids[:1]
        assert own.finish_job(ids[0], 'w1') is True
    assert [j.id for j in outbox.jobs(None, None)] == ids[1:]

    with pytest.raises(RuntimeError), outbox.unit_of_work() as own:
        assert [j.id for j in own.claim_jobs('w1', 1, at(1), at(6))] == ids[1:]
        raise RuntimeError('the work failed')
    # rolled back on SQL (claimable again); MongoDB wrote the claim at once
    again = claim(env, outbox, 'w2', at(1), at(6))
    assert again == ([(ids[1], 1)] if outbox.transactional else [])
    assert outbox.transactional is (env.backend in ('sqlite', 'postgresql'))


def test_subscriber_pages_walk_every_subscriber_once_in_order(env, outbox):
    doc = Ref('Document', '1')
    # 2,500 subscribers at 3 distinct times: pages end inside runs of equal times
    kinds = ('Team', 'User')
    rows = [(Ref(kinds[i % 2], f'{i:05d}'), doc, at(i % 3)) for i in range(2500)]
    subscribe_many(env, rows + [(Ref('User', '00001'), Ref('Document', '2'), at(1))])

    walked, after, sizes = [], None, []
    while True:
        page = outbox.subscriber_page(doc, after, 1000)
        sizes.append(len(page))
        if not page:
            break
        walked += [ref for ref, _ in page]
        after = json.loads(json.dumps(page[-1][1]))  # as a task payload carries it
    assert sizes == [1000, 1000, 500, 0]
    assert walked == outbox.subscribers(doc, None, 0)
    assert len(set(walked)) == 2500

    (first, position), *_ = outbox.subscriber_page(doc, None, 1)
    assert position == (at(2).isoformat(), first.type, first.id)
    assert outbox.subscriber_page(doc, position, 2) == outbox.subscriber_page(
        doc, list(position), 2
    )


@pytest.mark.parametrize('after', [('soon', 'User', '1'), (T0.isoformat(), 'User'), 'x', 3])
def test_a_bad_position_is_a_value_error(env, outbox, after):
    with pytest.raises(ValueError, match='after is not a subscriber position'):
        outbox.subscriber_page(Ref('Document', '1'), after, 10)


# mim, Ming's in-memory MongoDB, is not thread-safe: its find_one_and_update is a
# find, then an update by _id, so two threads can claim one job; a real MongoDB is atomic
@pytest.fixture(params=[b for b in BACKENDS if b in ('postgresql', 'mongodb')])
def shared_env(request):
    return environment(request.param)


def test_concurrent_workers_claim_each_job_exactly_once(shared_env):
    env, outbox = shared_env, model.storage()
    # SecantusDB sorts the collection for each claim (its planner uses no index there):
    # 600 jobs took it a minute; 120 still give each of the 6 workers two batches
    count = 600 if env.sql else 120
    ids = added(env, outbox, *(NewJob('n', {'i': i}) for i in range(count)))
    start = threading.Barrier(6)

    def work(owner):
        """Claim batches of 10 until none is left; finish each batch in another unit."""
        start.wait()
        claimed = []
        while True:
            with outbox.unit_of_work() as own:
                jobs = own.claim_jobs(owner, 10, at(1), at(6))
            if not jobs:
                return claimed
            claimed += [job.id for job in jobs]
            with outbox.unit_of_work() as own:
                assert all(own.finish_job(job.id, owner) for job in jobs)

    with ThreadPoolExecutor(6) as pool:
        found = list(pool.map(work, [f'worker-{n}' for n in range(6)]))
    everything = [job_id for claimed in found for job_id in claimed]
    assert sorted(everything) == sorted(ids)  # each job exactly once
    assert outbox.job_counts() == {'pending': 0, 'dead': 0}


@pytest.mark.parametrize('backend', [b for b in BACKENDS if b == 'postgresql'])
def test_a_claim_passes_rows_another_claim_holds_without_waiting(backend):
    env = environment(backend)
    outbox = model.storage()
    ids = added(env, outbox, *(NewJob('n', {'i': i}) for i in range(4)))
    with outbox.unit_of_work() as first, outbox.unit_of_work() as second:
        assert [j.id for j in first.claim_jobs('w1', 2, at(1), at(6))] == ids[:2]
        # not committed yet: a claim that waited for these rows would time out here
        second.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        assert [j.id for j in second.claim_jobs('w2', 10, at(1), at(6))] == ids[2:]


@pytest.mark.parametrize('backend', [b for b in BACKENDS if b == 'postgresql'])
def test_claims_and_subscriber_pages_are_index_range_scans(backend):
    env = environment(backend)
    outbox = model.storage()
    jobs = [NewJob('n', {}, available_at=at(i % 600)) for i in range(5000)]
    outbox.add_jobs(jobs, T0, ready=True)
    outbox.add_jobs(jobs[:2000], T0, ready=False)
    doc = Ref('Document', '1')
    rows = [(Ref('User', str(i)), Ref('Document', str(i % 5)), at(i % 7)) for i in range(10000)]
    subscribe_many(env, rows)
    with env.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
        conn.exec_driver_sql('VACUUM ANALYZE')

    with env.count_queries() as sent:
        outbox.claim_jobs('w1', 10, at(100), at(105))
        (*_, (_, position)) = outbox.subscriber_page(doc, None, 100)
        outbox.subscriber_page(doc, position, 100)
    env.clear_session()
    with env.engine.connect() as conn:
        claim_plan, first, following = (
            '\n'.join(conn.exec_driver_sql('EXPLAIN ' + statement, params).scalars())
            for statement, params in zip(sent, sent.params, strict=True)
        )
    # the claim reads only due jobs from the partial index, in claim order
    assert 'Index Scan using ix_activitystream_outbox_due' in claim_plan, claim_plan
    assert 'Seq Scan' not in claim_plan and 'Sort' not in claim_plan, claim_plan
    for plan in (first, following):
        assert 'Index Only Scan Backward using ix_activitystream_subscriptions_object' in plan
        assert 'Sort' not in plan, plan
    assert re.search(r'Index Cond: .*ROW\(created, subscriber_type, subscriber_id\) <', following)

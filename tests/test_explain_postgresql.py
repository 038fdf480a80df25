"""EXPLAIN evidence on PostgreSQL: the hot reads are index range scans.

A page of notifications and the unseen count must not scan or sort a
recipient's whole inbox, let alone the table. The plans are also written to
``docs/explain-postgresql.txt`` when ``ACTIVITYSTREAM_WRITE_PLANS`` is set.
"""

import datetime as dt
import os
import random
import re
from pathlib import Path

import pytest

from activitystream import am

from .clock import recent
from .harness import environment

PLANS = Path(__file__).parent.parent / 'docs' / 'explain-postgresql.txt'


@pytest.fixture(scope='module')
def loaded():
    """400 users, 3,000 actions, ~30,000 deliveries, 2% broadcasts, some dismissed; vacuumed.

    One a minute from three days ago: inside the counts' look-back window.
    """
    env = environment('postgresql')
    rng = random.Random(7)
    users = [env.user(f'u{i}') for i in range(400)]
    start = recent(days=3)
    items = []
    for i in range(3000):
        broadcast = rng.random() < 0.02
        items.append(
            dict(
                actor=rng.choice(users),
                verb='posted',
                recipients=None if broadcast else rng.sample(users, 10),
                timestamp=start + dt.timedelta(minutes=i),
            )
        )
    made = am.create_many(items)
    broadcasts = [a for a in made if a.broadcast]
    for user in users[1::4]:  # some take notifications out of their inboxes (users[5] too)
        am.dismiss(user, rng.sample(broadcasts, 10) + rng.sample(made, 40))
    env.commit()
    # the steady state autovacuum keeps: statistics and the visibility map
    with env.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
        conn.exec_driver_sql('VACUUM ANALYZE')
    return env, users


def plan_of(env, call):
    """The EXPLAIN of every statement ``call`` sends, on the connection that sent it.

    The hot reads are prepared statements (``EXECUTE activitystream_...``): they
    exist on that connection only, and their plan may be the generic one.
    """
    with env.count_queries() as sent:
        call()
    conn = env.model.DBSession.connection()
    plans = []
    for statement, params in zip(sent, sent.params, strict=True):
        rows = conn.exec_driver_sql('EXPLAIN ' + statement, params).scalars()
        plans.append('\n'.join(rows))
    return plans


def check_indexed(plan):
    """No table scan and no sort node: rows come in index order, counts from index ranges."""
    assert 'Seq Scan' not in plan, plan
    assert not re.search(r'(^|->)\s*(Incremental )?Sort\s+\(', plan, re.MULTILINE), plan


def test_a_page_of_notifications_is_two_index_range_scans(loaded):
    env, users = loaded
    user = users[5]
    (plan,) = plan_of(env, lambda: am.get_by_recipient(user).limit(10).all())
    check_indexed(plan)
    assert 'pk_activitystream_deliveries' in plan
    assert 'uq_activitystream_recipients_ref' in plan  # the recipient's key, by index
    assert 'ix_activitystream_actions_broadcast' in plan
    write('get_by_recipient(user).limit(10).all()', plan)


def test_the_unseen_count_is_index_range_counts(loaded):
    env, users = loaded
    user = users[5]
    am.mark_seen(user, until=recent(days=2))
    plans = plan_of(env, lambda: am.count_not_seen_by_recipient(user))
    count = plans[-1]
    check_indexed(count)
    assert 'pk_activitystream_deliveries' in count
    assert 'uq_activitystream_recipients_ref' in count
    # every broadcast in the range counted from the index alone, the reader's own apart:
    # no test of the actor on each broadcast
    assert 'Index Only Scan using ix_activitystream_actions_broadcast' in count
    assert '<>' not in count, count
    write('count_not_seen_by_recipient(user)', count)


def test_the_prepared_page_keeps_its_index_plan_once_generic(loaded):
    """After five calls PostgreSQL may plan a prepared statement once for all parameters."""
    env, users = loaded
    for user in users[:8]:
        am.get_by_recipient(user).limit(10).all()
    (plan,) = plan_of(env, lambda: am.get_by_recipient(users[5]).limit(10).all())
    check_indexed(plan)
    assert 'pk_activitystream_deliveries' in plan


def write(title, plan):
    if os.environ.get('ACTIVITYSTREAM_WRITE_PLANS'):
        PLANS.parent.mkdir(exist_ok=True)
        with PLANS.open('a') as out:
            out.write(f'-- {title}\n{plan}\n\n')

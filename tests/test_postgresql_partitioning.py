"""docs/scaling.md says: hash-partition the deliveries by recipient, change no query.

Here the deliveries table is rebuilt as a PostgreSQL hash-partitioned table
(8 partitions on the recipient's key) and the API runs on it unchanged; a page
of notifications reads one partition only. The key is found inside the
statement, so the other partitions are pruned when it runs (PostgreSQL's
run-time pruning: EXPLAIN ANALYZE shows them "never executed").
"""

import datetime as dt
import re

import pytest

from activitystream import am

from .clock import recent
from .harness import environment

PARTITIONED = """
DROP TABLE activitystream_reads;
DROP TABLE activitystream_deliveries;
CREATE TABLE activitystream_deliveries (
    recipient_key BIGINT NOT NULL,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    action_id BIGINT NOT NULL,
    PRIMARY KEY (recipient_key, timestamp, action_id)
) PARTITION BY HASH (recipient_key);
CREATE INDEX ix_activitystream_deliveries_action ON activitystream_deliveries (action_id);
"""


@pytest.fixture
def partitioned():
    env = environment('postgresql')
    with env.engine.begin() as conn:
        conn.exec_driver_sql(PARTITIONED)
        for n in range(8):
            conn.exec_driver_sql(
                f'CREATE TABLE activitystream_deliveries_{n} PARTITION OF activitystream_deliveries'
                f' FOR VALUES WITH (MODULUS 8, REMAINDER {n})'
            )
    yield env
    env.clear_session()  # the test's open transaction would block the DDL
    env.model.metadata.drop_all(env.engine, tables=[
        env.model.metadata.tables['activitystream_reads'],
        env.model.metadata.tables['activitystream_deliveries'],
    ])  # fmt: skip
    env.model.metadata.create_all(env.engine)


def test_the_api_runs_unchanged_on_partitioned_deliveries(partitioned):
    env = partitioned
    users = [env.user(f'u{i}') for i in range(40)]
    start = recent(days=1)
    am.create_many(
        [
            dict(actor=users[i % 40], verb='posted', recipients=users[i % 7 : i % 7 + 12],
                 timestamp=start + dt.timedelta(minutes=i))
            for i in range(300)
        ]
    )  # fmt: skip
    env.commit()
    bob = users[10]
    page = am.get_by_recipient(bob).limit(10).all()
    assert len(page) == 10 and page == sorted(page, key=lambda a: a.timestamp, reverse=True)
    assert am.count_not_seen_by_recipient(bob) == am.get_by_recipient(bob).count()
    am.mark_seen(bob, until=page[4].timestamp)
    assert am.count_not_seen_by_recipient(bob) == 4

    with env.count_queries() as sent:
        am.get_by_recipient(bob).limit(10).all()
    conn = env.model.DBSession.connection()  # the prepared statement lives on this one
    explain = 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' + sent[0]
    plan = list(conn.exec_driver_sql(explain, sent.params[0]).scalars())
    # "... using <index> on <partition> <alias> (actual ...)": the partition, not the alias
    scanned = {
        found.group(1)
        for line in plan
        if 'never executed' not in line
        and (found := re.search(r' on (activitystream_deliveries_\d+) ', line))
    }
    assert len(scanned) == 1, '\n'.join(plan)  # pruned to the recipient's partition

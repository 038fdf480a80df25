"""EXPLAIN QUERY PLAN evidence on SQLite: the unseen count reads indexes only.

SQLite reads a table row for every index entry unless the index holds every
column the query names; comparing the actor's two text columns on every
broadcast cost four times the count itself. The count therefore takes all
broadcasts from the partial index alone and subtracts the reader's own.
"""

import datetime as dt

from activitystream import am

from .clock import recent
from .harness import environment


def test_the_unseen_count_reads_the_broadcasts_from_their_index_alone():
    env = environment('sqlite')
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    start = recent(days=1)
    am.create_many(
        [
            dict(
                actor=[alice, bob, carol][i % 3],
                verb='posted',
                recipients=None if i % 2 else [bob, carol],
                timestamp=start + dt.timedelta(minutes=i),
            )
            for i in range(30)
        ]
    )
    am.mark_seen(bob, until=start + dt.timedelta(minutes=10))
    env.commit()
    with env.count_queries() as sent:
        count = am.count_not_seen_by_recipient(bob)
    # after minute 10 (11 to 29): deliveries at the even minutes, broadcasts at the odd
    # ones, bob's own (every third minute from 1) in neither: 9 - 3 and 10 - 3
    assert count == 6 + 7 == sum(not a.seen for a in am.get_by_recipient(bob))
    statement, params = sent[-1], sent.params[-1]
    conn = env.model.DBSession.connection()
    steps = [row[-1] for row in conn.exec_driver_sql('EXPLAIN QUERY PLAN ' + statement, params)]
    broadcasts = [s for s in steps if 'ix_activitystream_actions_broadcast' in s]
    assert broadcasts == [
        'SEARCH activitystream_actions USING COVERING INDEX '
        'ix_activitystream_actions_broadcast (timestamp>?)'
    ], steps
    # the reader's own: a range of the actor index, not a scan
    assert [s for s in steps if 'ix_activitystream_actions_actor' in s], steps
    assert not [s for s in steps if s.startswith('SCAN activitystream')], steps

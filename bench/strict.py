"""The strict floor: the same questions on the tables a hand-written site would have (issue 15).

The floor (floor.py) keeps our action rows and only reshapes the inbox. The
strict floor has tables of its own, loaded from the generated dataset itself
(not from what we stored), in the same database, in the same run:

- ``strict_action(id, ts, actor_id, verb, target_id, obj_id, description, extra)``:
  integer keys (every actor and mentioned object here is a user, every target a
  post), the verb as a small integer, no type columns, no visibility flag;
- ``strict_inbox(recipient_id, ts, action_id)``, keyed by exactly that: the
  primary key is the covering index (on SQLite a ``WITHOUT ROWID`` table,
  whose rows are the index);
- ``strict_broadcast(ts, action_id, actor_id)``, keyed by ``(ts, action_id)``
  and carrying its actor, so skipping the reader's own broadcasts stays in the key.

Timestamps are PostgreSQL's ``timestamp`` (8 bytes) and, on SQLite, integer
milliseconds since the epoch, as ours are.
Statements are written once and sent straight through the DBAPI cursor; rows
stay tuples. On PostgreSQL they are prepared once per connection (``PREPARE``,
then ``EXECUTE``), as psycopg 3 does by itself for a statement run five times:
planning is about two thirds of a plain Q1's time on the server; sqlite3
keeps its statements prepared already (its statement cache). Activity ``i``
is action ``i + 1``, as ``create_many`` numbers them in fresh tables, so the
answers are compared with ours id for id.
"""

import io
import json
import time

import numpy as np

from .dataset import END, VERBS, description, extra, inbox_pairs
from .floor import SQLFloor, _epoch_ms

ACTION_COLUMNS = 'a.id, a.ts, a.actor_id, a.verb, a.target_id, a.obj_id, a.description, a.extra'
TABLES = ('strict_action', 'strict_inbox', 'strict_broadcast')
SQLITE_TABLES = (
    'CREATE TABLE strict_action (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, '
    'actor_id INTEGER NOT NULL, verb INTEGER NOT NULL, target_id INTEGER, obj_id INTEGER, '
    'description TEXT, extra TEXT)',
    'CREATE TABLE strict_inbox (recipient_id INTEGER NOT NULL, ts INTEGER NOT NULL, '
    'action_id INTEGER NOT NULL, PRIMARY KEY (recipient_id, ts, action_id)) WITHOUT ROWID',
    'CREATE TABLE strict_broadcast (ts INTEGER NOT NULL, action_id INTEGER NOT NULL, '
    'actor_id INTEGER NOT NULL, PRIMARY KEY (ts, action_id)) WITHOUT ROWID',
)
# PostgreSQL: the keys are added after COPY (one sorted build instead of 5 million inserts)
PG_TABLES = (
    'CREATE TABLE strict_action (id integer NOT NULL, actor_id integer NOT NULL, '
    'target_id integer, obj_id integer, ts timestamp NOT NULL, verb smallint NOT NULL, '
    'description text, extra text)',
    'CREATE TABLE strict_inbox (recipient_id integer NOT NULL, action_id integer NOT NULL, '
    'ts timestamp NOT NULL)',
    'CREATE TABLE strict_broadcast (actor_id integer NOT NULL, action_id integer NOT NULL, '
    'ts timestamp NOT NULL)',
)
PG_KEYS = (
    'ALTER TABLE strict_action ADD PRIMARY KEY (id)',
    'ALTER TABLE strict_inbox ADD PRIMARY KEY (recipient_id, ts, action_id)',
    'ALTER TABLE strict_broadcast ADD PRIMARY KEY (ts, action_id) INCLUDE (actor_id)',
)
Q1 = (
    f'SELECT {ACTION_COLUMNS} FROM ('
    ' SELECT * FROM (SELECT action_id, ts FROM strict_inbox WHERE recipient_id = %s'
    '  ORDER BY ts DESC, action_id DESC LIMIT 10) AS d'
    ' UNION ALL'
    ' SELECT * FROM (SELECT action_id, ts FROM strict_broadcast WHERE actor_id <> %s'
    '  ORDER BY ts DESC, action_id DESC LIMIT 10) AS b'
    ') AS k JOIN strict_action AS a ON a.id = k.action_id'
    ' ORDER BY k.ts DESC, k.action_id DESC LIMIT 10'
)
Q2 = (
    'SELECT (SELECT count(*) FROM strict_inbox WHERE recipient_id = %s AND ts > %s)'
    ' + (SELECT count(*) FROM strict_broadcast WHERE ts > %s AND actor_id <> %s)'
)
W_ACTION = (
    'INSERT INTO strict_action (id, ts, actor_id, verb, target_id) VALUES (%s, %s, %s, %s, 1)'
)
# every recipient in one statement, from one array parameter
W_PG = 'INSERT INTO strict_inbox (recipient_id, ts, action_id) SELECT unnest(%s), %s, %s'
W_SQLITE = (
    'INSERT INTO strict_inbox (recipient_id, ts, action_id) SELECT value, ?, ? FROM json_each(?)'
)
# PostgreSQL: (name, parameter types, SQL) of the prepared statements
PREPARED = {
    'q1': ('integer, integer', Q1),
    'q2': ('integer, timestamp, timestamp, integer', Q2),
    'w_action': ('integer, timestamp, integer, smallint', W_ACTION),
    'w_inbox': ('integer[], timestamp, integer', W_PG),
}
W_ID = 2**31 - 1  # the written action's id: no loaded one has it, and it is rolled back
COPY_ROWS = 500_000


def _pg_times(ms_before_end):
    """Timestamps as COPY text, from ms before END."""
    end = np.datetime64(END.replace(tzinfo=None), 'ms')
    return np.datetime_as_string(end - ms_before_end.astype('timedelta64[ms]'), unit='ms')


class StrictFloor(SQLFloor):
    """The strict floor on the host's database, through a raw DBAPI connection of its own."""

    def __init__(self, host):
        super().__init__(host)
        self.q1, self.q2 = self._sql(Q1), self._sql(Q2)
        self._prepared = False  # PostgreSQL: after the tables are (re)made

    def statement(self, name):
        if self.sqlite:
            return super().statement(name)
        if not self._prepared:
            cur = self.conn.cursor()
            for key, (types, sql) in PREPARED.items():
                numbered = sql.split('%s')
                sql = numbered[0] + ''.join(f'${n}{rest}' for n, rest in enumerate(numbered[1:], 1))
                cur.execute(f'PREPARE strict_{key} ({types}) AS {sql}')
            self.conn.commit()
            self._prepared = True
        marks = ', '.join(['%s'] * PREPARED[name][0].count(',')) + ', %s'
        return f'EXECUTE strict_{name} ({marks})'

    def expected_rows(self, data):
        pairs = len(inbox_pairs(data)[0])
        return {
            'strict_action': data.n_activities,
            'strict_inbox': pairs,
            'strict_broadcast': int(data.act_broadcast.sum()),
        }

    def rows(self):
        """{table: rows}, or None when a table is missing."""
        cur = self.conn.cursor()
        found = {}
        try:
            for table in TABLES:
                cur.execute(f'SELECT count(*) FROM {table}')
                found[table] = cur.fetchone()[0]
        except Exception:  # noqa: BLE001 - sqlite3 and psycopg2 each have their own error
            self.conn.rollback()
            return None
        return found

    def load(self, data, reuse=False):
        """Build the tables from ``data``; {rows, load_s, reused}. ``reuse``: keep them if whole."""
        expected = self.expected_rows(data)
        if reuse and self.rows() == expected:
            return {'rows': expected, 'load_s': None, 'reused': True}
        started = time.perf_counter()
        cur = self.conn.cursor()
        if self._prepared:
            cur.execute('DEALLOCATE ALL')
            self._prepared = False
        for table in TABLES:
            cur.execute(f'DROP TABLE IF EXISTS {table}')
        recipient, activity = inbox_pairs(data)
        if self.sqlite:
            self._load_sqlite(cur, data, recipient, activity)
        else:
            self._load_postgresql(cur, data, recipient, activity)
        self.conn.commit()
        found = self.rows()
        assert found == expected, (found, expected)
        return {'rows': found, 'load_s': time.perf_counter() - started, 'reused': False}

    @staticmethod
    def _action_rows(data, ts):
        """(id, ts, actor, verb, target, obj, description, extra) per activity, ts as given."""
        cols = (data.act_actor + 1, data.act_verb, data.act_target + 1, data.act_obj)
        for i, (actor, verb, target, obj) in enumerate(
            zip(*(c.tolist() for c in cols), strict=True)
        ):
            name = VERBS[verb]
            more = extra(name, i)
            more = None if more is None else json.dumps(more, sort_keys=True)
            yield (i + 1, ts[i], actor, verb, target, obj + 1 if obj >= 0 else None,
                   description(name, i), more)  # fmt: skip

    def _load_sqlite(self, cur, data, recipient, activity):
        for statement in SQLITE_TABLES:
            cur.execute(statement)
        end = _epoch_ms(END)
        ts = (end - data.act_ms).tolist()
        cur.executemany(
            'INSERT INTO strict_action VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            self._action_rows(data, ts),
        )
        for at in range(0, len(recipient), COPY_ROWS):
            r, a = recipient[at : at + COPY_ROWS], activity[at : at + COPY_ROWS]
            rows = zip(
                (r + 1).tolist(), (end - data.act_ms[a]).tolist(), (a + 1).tolist(), strict=True
            )
            cur.executemany('INSERT INTO strict_inbox VALUES (?, ?, ?)', rows)
        b = np.flatnonzero(data.act_broadcast)
        cols = (end - data.act_ms[b], b + 1, data.act_actor[b] + 1)
        rows = zip(*(c.tolist() for c in cols), strict=True)
        cur.executemany('INSERT INTO strict_broadcast VALUES (?, ?, ?)', rows)

    def _load_postgresql(self, cur, data, recipient, activity):
        for statement in PG_TABLES:
            cur.execute(statement)
        ts = _pg_times(data.act_ms).tolist()

        def copy(table, columns, lines):
            cur.copy_expert(f'COPY {table} ({columns}) FROM STDIN', io.StringIO(''.join(lines)))

        def text(value):
            if value is None:
                return '\\N'
            return str(value).replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n')

        rows = self._action_rows(data, ts)
        copy(
            'strict_action', 'id, ts, actor_id, verb, target_id, obj_id, description, extra',
            ('\t'.join(text(v) for v in row) + '\n' for row in rows),
        )  # fmt: skip
        for at in range(0, len(recipient), COPY_ROWS):
            r, a = recipient[at : at + COPY_ROWS].tolist(), activity[at : at + COPY_ROWS].tolist()
            copy(
                'strict_inbox', 'recipient_id, ts, action_id',
                (f'{u + 1}\t{ts[i]}\t{i + 1}\n' for u, i in zip(r, a, strict=True)),
            )  # fmt: skip
        b = np.flatnonzero(data.act_broadcast).tolist()
        actors = data.act_actor.tolist()
        copy(
            'strict_broadcast', 'ts, action_id, actor_id',
            (f'{ts[i]}\t{i + 1}\t{actors[i] + 1}\n' for i in b),
        )  # fmt: skip
        for statement in PG_KEYS:
            cur.execute(statement)

    def deliver(self, recipient_ids, when, actor_id):
        """The action row and one INSERT of all its deliveries (rolled back by the caller)."""
        cur = self.conn.cursor()
        ts = self._ts(when)
        if self.sqlite:
            cur.execute(self._sql(W_ACTION), (W_ID, ts, actor_id, 0))
            cur.execute(W_SQLITE, (ts, W_ID, json.dumps(recipient_ids)))
        else:
            cur.execute(self.statement('w_action'), (W_ID, ts, actor_id, 0))
            cur.execute(self.statement('w_inbox'), (recipient_ids, ts, W_ID))

    def page(self, rows):
        """Strict Q1's rows as ``floor_render`` takes them: (id, time, actor, verb, target)."""
        return [(r[0], self._time(r[1]), r[2], VERBS[r[3]], r[4]) for r in rows]

    def entity_ids(self, rows):
        """(user ids, post ids) a page of strict Q1 rows names: actors, objects, targets."""
        users = {x for row in rows for x in (row[2], row[5]) if x is not None}
        return users, {row[4] for row in rows if row[4] is not None}


def table_bytes(conn, sqlite, prefix):
    """Bytes of the tables whose names start with ``prefix``, with their indexes."""
    cur = conn.cursor()
    pattern = prefix.replace('_', '\\_') + '%'
    if sqlite:
        cur.execute(
            'SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM '
            "sqlite_master WHERE tbl_name LIKE ? ESCAPE '\\')",
            (pattern,),
        )
    else:
        cur.execute(
            'SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class '
            "WHERE relkind = 'r' AND relname LIKE %s",
            (pattern,),
        )
    found = int(cur.fetchone()[0])
    conn.rollback()
    return found

"""The floor: the same questions in hand-written SQL, on the same database and driver.

No library can beat it: tables shaped for exactly these questions (an integer
recipient, a covering ``(recipient_id, ts DESC, action_id DESC)`` index, a
separate broadcast table carrying its integer actor), statements written once
and sent straight through the DBAPI cursor (sqlite3 / psycopg2), results left
as tuples. Filled with INSERT ... SELECT from what ``am.create_many`` stored, so
it holds the same rows.

The questions are the API's: a user's inbox leaves out the user's own
broadcasts, and Q2 counts after ``since``, the caller's max(last seen, now -
unseen_window).

On Ming the floor is the same idea through pymongo (or mim) without Ming or
activitystream: one ``find`` on a minimal inbox collection whose entries carry
their action, and one ``count_documents``.
"""

from datetime import datetime, timedelta

from . import floor_render

ACTION_COLUMNS = (
    'a.id, a.actor_type, a.actor_id, a.verb, a.target_type, a.target_id, '
    'a.action_obj_type, a.action_obj_id, a.description, a.extra, a.timestamp, a.broadcast, '
    'a.public'
)

# every actor of the bench is a User: its id is the integer the floor keeps
SETUP = (
    'DROP TABLE IF EXISTS floor_inbox',
    'DROP TABLE IF EXISTS floor_broadcast',
    'CREATE TABLE floor_inbox (recipient_id INTEGER NOT NULL, ts TIMESTAMP NOT NULL, '
    'action_id BIGINT NOT NULL)',
    'CREATE TABLE floor_broadcast (ts TIMESTAMP NOT NULL, action_id BIGINT NOT NULL, '
    'actor_id INTEGER NOT NULL)',
    'INSERT INTO floor_inbox (recipient_id, ts, action_id) '
    'SELECT CAST(r.recipient_id AS INTEGER), d.timestamp, d.action_id '
    'FROM activitystream_deliveries AS d JOIN activitystream_recipients AS r '
    "ON r.id = d.recipient_key WHERE r.recipient_type = 'User'",
    'INSERT INTO floor_broadcast (ts, action_id, actor_id) '
    'SELECT timestamp, id, CAST(actor_id AS INTEGER) FROM activitystream_actions '
    "WHERE broadcast = {true} AND actor_type = 'User'",
    'CREATE INDEX floor_inbox_recent ON floor_inbox (recipient_id, ts DESC, action_id DESC)',
    # the actor closes the index: skipping the reader's own broadcasts stays index-only
    'CREATE INDEX floor_broadcast_recent ON floor_broadcast (ts DESC, action_id DESC, actor_id)',
)

# Q1: index-ordered top-10 of each side (the others' broadcasts), merged, joined to the
# 10 action rows: one statement
Q1 = (
    f'SELECT {ACTION_COLUMNS} FROM ('
    ' SELECT * FROM (SELECT action_id, ts FROM floor_inbox WHERE recipient_id = %s'
    '  ORDER BY ts DESC, action_id DESC LIMIT 10) AS d'
    ' UNION ALL'
    ' SELECT * FROM (SELECT action_id, ts FROM floor_broadcast WHERE actor_id <> %s'
    '  ORDER BY ts DESC, action_id DESC LIMIT 10) AS b'
    ') AS k JOIN activitystream_actions AS a ON a.id = k.action_id'
    ' ORDER BY k.ts DESC, k.action_id DESC LIMIT 10'
)
# Q2: two index range counts in one statement
Q2 = (
    'SELECT (SELECT count(*) FROM floor_inbox WHERE recipient_id = %s AND ts > %s)'
    ' + (SELECT count(*) FROM floor_broadcast WHERE ts > %s AND actor_id <> %s)'
)
W_ROW = '(%s, %s, %s)'
W = 'INSERT INTO floor_inbox (recipient_id, ts, action_id) VALUES '


EPOCH = datetime(1970, 1, 1)


def _epoch_ms(when):
    """A naive UTC datetime as SQLite keeps ours (and the floor's copy): integer milliseconds."""
    return (when - EPOCH) // timedelta(milliseconds=1)


class SQLFloor:
    """Hand-written SQL through a raw DBAPI connection of the host's driver."""

    def __init__(self, host):
        self.backend = host.backend
        self.conn = host.raw_connection()
        self.sqlite = self.backend == 'sqlite'
        self.q1, self.q2 = self._sql(Q1), self._sql(Q2)

    def _sql(self, text):
        return text.replace('%s', '?') if self.sqlite else text

    def _ts(self, when):
        return _epoch_ms(when) if self.sqlite else when

    def setup(self):
        """(Re)build the floor tables from the loaded data; return their row counts."""
        cur = self.conn.cursor()
        for statement in SETUP:
            cur.execute(statement.replace('{true}', '1' if self.sqlite else 'true'))
        self.conn.commit()
        counts = {}
        for table in ('floor_inbox', 'floor_broadcast'):
            cur.execute(f'SELECT count(*) FROM {table}')
            counts[table] = cur.fetchone()[0]
        return counts

    def vacuum_analyze(self):
        """PostgreSQL: what autovacuum would have done after the load, for every table."""
        if self.sqlite:
            return
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.cursor().execute('VACUUM ANALYZE')
        self.conn.autocommit = False

    def statement(self, name):
        """The SQL sent for question ``name`` ('q1', 'q2'), with the driver's placeholders."""
        return self.q1 if name == 'q1' else self.q2

    def latest(self, user_id):
        cur = self.conn.cursor()
        cur.execute(self.statement('q1'), (user_id, user_id))
        return cur.fetchall()

    def count_unseen(self, user_id, since):
        cur = self.conn.cursor()
        ts = self._ts(since)
        cur.execute(self.statement('q2'), (user_id, ts, ts, user_id))
        return cur.fetchone()[0]

    def deliver(self, recipient_ids, when, action_id):
        """One multi-row INSERT of len(recipient_ids) rows (rolled back by the caller)."""
        ts = self._ts(when)
        sql = self._sql(W + ', '.join([W_ROW] * len(recipient_ids)))
        params = [v for r in recipient_ids for v in (r, ts, action_id)]
        self.conn.cursor().execute(sql, params)

    def rollback(self):
        self.conn.rollback()

    def entity_ids(self, rows):
        """(user ids, post ids) a page of Q1 rows names: actors, objects, targets."""
        users = {int(x) for row in rows for x in (row[2], row[7]) if x is not None}
        return users, {int(row[5]) for row in rows if row[5] is not None}

    def page(self, rows):
        """Q1's rows as ``floor_render`` takes them: (id, time, actor, verb, target)."""
        return [
            (r[0], self._time(r[10]), int(r[2]), r[3], None if r[5] is None else int(r[5]))
            for r in rows
        ]

    def _time(self, value):
        """A time as the driver reads it, as naive UTC (SQLite: integer milliseconds)."""
        return EPOCH + timedelta(milliseconds=value) if self.sqlite else value

    def host_rows(self, rows):
        """The users and posts of a page: ``({id: (user name, display name)}, {id: (slug,
        title)})``, one query per table."""
        users, posts = self.entity_ids(rows)
        cur = self.conn.cursor()
        mark = '?' if self.sqlite else '%s'
        found = []
        for sql, ids in (
            ('SELECT user_id, user_name, display_name FROM tg_user WHERE user_id IN ', users),
            ('SELECT post_id, slug, title FROM posts WHERE post_id IN ', posts),
        ):
            ids = sorted(ids)
            if ids:
                cur.execute(sql + '(' + ', '.join([mark] * len(ids)) + ')', ids)
            found.append({row[0]: row[1:] for row in cur.fetchall()} if ids else {})
        return found

    def render(self, rows):
        """R: the menu's rows of a page of Q1, its users and posts read, by hand."""
        users, posts = self.host_rows(rows)
        return floor_render.rows(self.page(rows), users, posts, datetime.utcnow())

    def explain(self, user_id, since):
        """The floor's Q1 and Q2 plans (EXPLAIN ANALYZE BUFFERS / EXPLAIN QUERY PLAN)."""
        ts = self._ts(since)
        return {
            'Q1': self.plan(self.statement('q1'), (user_id, user_id)),
            'Q2': self.plan(self.statement('q2'), (user_id, ts, ts, user_id)),
        }

    def plan(self, sql, params):
        prefix = 'EXPLAIN QUERY PLAN ' if self.sqlite else 'EXPLAIN (ANALYZE, BUFFERS) '
        cur = self.conn.cursor()
        cur.execute(prefix + sql, params)
        rows = cur.fetchall()
        self.conn.rollback()
        if self.sqlite:
            return '\n'.join(f'{r[0]:>3} {r[1]:>3} {r[3]}' for r in rows)
        return '\n'.join(r[0] for r in rows)

    def close(self):
        self.conn.rollback()
        self.conn.close()


class MongoFloor:
    """The same questions through pymongo (or mim) directly, on minimal collections."""

    def __init__(self, host):
        self.backend = host.backend
        self.db = host.raw_connection()

    def setup(self):
        if 'floor_inbox' in self.db.list_collection_names():
            self.db.drop_collection('floor_inbox')  # mim: a KeyError when missing
        inbox = self.db.floor_inbox
        inbox.create_index([('r', 1), ('ts', -1), ('a', -1)])
        batch, count = [], 0
        fields = {'recipient_id': 1, 'timestamp': 1, 'action_id': 1, 'action': 1}
        for d in self.db.activitystream_deliveries.find({}, fields):
            batch.append({'r': d['recipient_id'], 'ts': d['timestamp'], 'a': d['action_id']})
            batch[-1]['action'] = d['action']
            if len(batch) == 10_000:
                count += len(inbox.insert_many(batch).inserted_ids)
                batch = []
        if batch:
            count += len(inbox.insert_many(batch).inserted_ids)
        return {'floor_inbox': count}

    def vacuum_analyze(self):
        pass

    @staticmethod
    def _inbox(user_id):
        """The user's entries and the others' broadcasts (every actor here is a User)."""
        return {'$or': [{'r': user_id}, {'r': None, 'action.actor_id': {'$ne': user_id}}]}

    def latest(self, user_id):
        cursor = self.db.floor_inbox.find(self._inbox(user_id), {'action': 1})
        return [d['action'] for d in cursor.sort([('ts', -1), ('a', -1)]).limit(10)]

    def count_unseen(self, user_id, since):
        return self.db.floor_inbox.count_documents(dict(self._inbox(user_id), ts={'$gt': since}))

    @staticmethod
    def page(rows):
        """Q1's documents as ``floor_render`` takes them: (id, time, actor, verb, target)."""
        return [
            (str(a['_id']), a['timestamp'], a['actor_id'], a['verb'], a['target_id']) for a in rows
        ]

    def host_rows(self, rows):
        """The users and posts of a page (as ``SQLFloor.host_rows``), one ``find`` each."""
        from bson import ObjectId

        users = {a['actor_id'] for a in rows} | {a['action_obj_id'] for a in rows}
        users.discard(None)
        posts = {a['target_id'] for a in rows if a['target_id']}
        found_users = self.db.tg_user.find(
            {'_id': {'$in': [ObjectId(u) for u in users]}}, {'user_name': 1, 'display_name': 1}
        )
        found_posts = self.db.posts.find(
            {'_id': {'$in': [ObjectId(p) for p in posts]}}, {'slug': 1, 'title': 1}
        )
        return (
            {str(u['_id']): (u['user_name'], u.get('display_name')) for u in found_users},
            {str(p['_id']): (p['slug'], p['title']) for p in found_posts},
        )

    def render(self, rows):
        """R: the menu's rows of a page of Q1, its users and posts read, by hand."""
        users, posts = self.host_rows(rows)
        return floor_render.rows(self.page(rows), users, posts, datetime.utcnow())

    def deliver(self, recipient_ids, when, action_id):
        docs = [{'r': r, 'ts': when, 'a': action_id, 'floor_w': True} for r in recipient_ids]
        self.db.floor_inbox.insert_many(docs)

    def rollback(self):
        if self.backend != 'ming':  # a delete scans all of mim: writes are measured last
            self.db.floor_inbox.delete_many({'floor_w': True})

    def explain(self, user_id, since):
        return {}

    def close(self):
        pass


def floor_for(host):
    return SQLFloor(host) if host.backend in ('sqlite', 'postgresql') else MongoFloor(host)

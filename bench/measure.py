"""Time our API against the floor and the strict floor on the same users, data and settings.

Each question is asked for every picked user (the heaviest recipients first),
ours, the floor's and (SQL) the strict floor's in turn, for a few rounds after
a warm-up pass of each over all the users (so none pays another's cold pages);
latencies come from ``time.perf_counter`` around the call alone. A time budget
per question bounds backends where every query is a scan (Ming's ``mim://``).
"""

import contextlib
import cProfile
import io
import pstats
import time
from datetime import datetime

from activitystream import am, grouping

from .common import stats
from .dataset import KINDS, VERBS
from .floor import floor_for
from .strict import StrictFloor, table_bytes

MIN_SAMPLES = 3
W_RECIPIENTS = 2000
KIND_USERS = 100  # users measured per kind of user (at most)
KIND_CHECKS = 3  # of which checked for the same answers
# mim:// matches every document of a collection for every query (no indexes):
# on it, the side checks below run on a few users only
CHECK_USERS = {'ming': 1}
PROFILE_USERS = {'ming': 0}  # a profile of mim shows mim
SLOW_BUDGET = {'ming': 3}  # seconds per question and side (at least MIN_SAMPLES), one round


def _same_rows(ours, theirs, side):
    """Whether R's rows are the same; the first field that differs is printed."""
    for n, (mine, other) in enumerate(zip(ours, theirs, strict=False)):
        for field, value in mine.items():
            if other.get(field) != value:
                print(f'R row {n}, {field}: ours {value!r}, the {side} {other.get(field)!r}')
                return False
    if len(ours) != len(theirs):
        print(f'R: ours {len(ours)} rows, the {side} {len(theirs)}')
    return len(ours) == len(theirs)


def timed(fn, args, rounds, budget_s, after=None, min_samples=MIN_SAMPLES):
    """Latencies (ms) of fn(*a) for a in args, ``rounds`` times, within ``budget_s``."""
    samples = []
    started = time.perf_counter()
    for _ in range(rounds):
        for a in args:
            t0 = time.perf_counter()
            fn(*a)
            samples.append((time.perf_counter() - t0) * 1000)
            if after is not None:
                after()
            if time.perf_counter() - started > budget_s and len(samples) >= min_samples:
                return samples
    return samples


class Bench:
    """Our calls and the floor's for one loaded host."""

    def __init__(self, host, data, users, posts, budget_s, rounds):
        self.host = host
        self.data = data
        self.users = users  # host entities, indexed like the dataset
        self.posts = posts
        self.floor = floor_for(host)
        self.sql = host.backend in ('sqlite', 'postgresql')
        self.strict = StrictFloor(host) if self.sql else None
        self.budget_s = min(budget_s, SLOW_BUDGET.get(host.backend, budget_s))
        self.rounds = 1 if host.backend in SLOW_BUDGET else rounds
        self.check_users = CHECK_USERS.get(host.backend, 20)
        self.profile_users = PROFILE_USERS.get(host.backend, 300)

    def floor_id(self, user):
        return user.user_id if self.sql else str(user._id)

    # -- ours ----------------------------------------------------------------

    def q1(self, user):
        return am.get_by_recipient(user).limit(10).all()

    def q2(self, user):
        return am.count_not_seen_by_recipient(user)

    def r(self, user, orm=False):
        """The menu's rows as ``notifications_menu`` makes them (its counts aside): the page,
        grouped, shown (its entities load on the first row's first name: User and Post
        list their ``__activitystream_display__``). ``orm``: as for classes that list
        nothing, the page's entities through the ORM (rows show what the page loaded)."""
        actions = am.get_by_recipient(user).limit(10).all()
        if orm and actions:
            actions[0].actor_entity  # noqa: B018 - loads every entity of the page
        rows = grouping.group(actions, grouping.DEFAULT_WINDOW, lambda a: False)
        return grouping.as_rows(rows, read=False)

    def r_orm(self, user):
        return self.r(user, orm=True)

    def w(self, actor, recipients):
        self._written = am.create(actor, VERBS[0], target=self.posts[0], recipients=recipients)

    def undo_w(self):
        """Take the last write back (SQL: roll back), so the dataset stays as loaded."""
        if self.sql:
            self.host.abort()
            return
        if self.host.backend in SLOW_BUDGET:
            return  # a delete scans all of mim: writes are measured last, and left
        db = self.host.db
        db.activitystream_deliveries.delete_many({'action_id': self._written.id})
        db.activitystream_actions.delete_one({'_id': self._written.id})

    # -- the floor's ----------------------------------------------------------

    def fq1(self, user):
        return self.floor.latest(self.floor_id(user))

    def since(self, user):
        """Where the API's count starts: last seen, but no further back than the window."""
        start = datetime.utcnow() - self.host.unseen_window
        seen = user.last_activity_seen
        return start if seen is None or seen < start else seen

    def fq2(self, user):
        return self.floor.count_unseen(self.floor_id(user), self.since(user))

    def fr(self, user):
        return self.floor.render(self.fq1(user))

    def fr_sql(self, user):
        """R's queries alone: the page and its users and posts, not shown."""
        rows = self.fq1(user)
        return rows, self.floor.host_rows(rows)

    def fw(self, recipients):
        ids = [self.floor_id(u) for u in recipients]
        self.floor.deliver(ids, datetime.utcnow(), 10**12)

    # -- the strict floor's (SQL only) -----------------------------------------

    def sq1(self, user):
        return self.strict.latest(self.floor_id(user))

    def sq2(self, user):
        return self.strict.count_unseen(self.floor_id(user), self.since(user))

    def sr(self, user):
        return self.strict.render(self.sq1(user))

    def sr_sql(self, user):
        rows = self.sq1(user)
        return rows, self.strict.host_rows(rows)

    def sw(self, actor, recipients):
        ids = [self.floor_id(u) for u in recipients]
        self.strict.deliver(ids, datetime.utcnow(), self.floor_id(actor))

    def sides(self, ours, floor, strict):
        """{side: fn} of one question; the strict floor's only where there is one."""
        found = {'ours': ours, 'floor': floor}
        if self.strict is not None:
            found['strict'] = strict
        return found

    # -- measuring ------------------------------------------------------------

    def pair(self, sides, args, rounds=None, undo=None):
        """Warm every side up, then time them call after call, in turn.

        ``sides``: {name: fn} (see :meth:`sides`). Taking turns call by call
        (and rotating who goes first) spreads any noise from the machine over
        all sides; ``undo``: {name: fn} run untimed after each of that side's
        calls (writes).
        """
        rounds = rounds or self.rounds
        undo = undo or {}
        if self.host.backend not in SLOW_BUDGET:  # mim has no cache to warm
            # a full pass each: whoever goes first must not pay the cold pages of the others
            for name, fn in sides.items():
                timed(fn, args, 1, self.budget_s / 2, undo.get(name), min_samples=1)
        self.host.abort()
        calls = [a for _ in range(rounds) for a in args]
        turns = {
            name: (lambda n, fn=fn: fn(*calls[n]), undo.get(name)) for name, fn in sides.items()
        }
        samples = _in_turn(turns, len(calls), self.budget_s)
        self.host.abort()
        return _compare({name: stats(ms) for name, ms in samples.items()})

    def reads(self, picked, with_r=True):
        args = [(self.users[i],) for i in picked]
        found = {
            'Q1': self.pair(self.sides(self.q1, self.fq1, self.sq1), args),
            'Q2': self.pair(self.sides(self.q2, self.fq2, self.sq2), args),
        }
        if with_r:
            sides = dict(self.sides(self.r, self.fr, self.sr), ours_orm=self.r_orm)
            forget = {'ours': self.host.forget_entities, 'ours_orm': self.host.forget_entities}
            found['R'] = self.pair(sides, args, undo=forget)  # both R in turn, same floors
            found['R_orm'] = _compare(dict(found['R'], ours=found['R'].pop('ours_orm')))
        return found

    def kinds(self):
        """Q1 and Q2 per kind of user (dataset.KINDS): {kind: {users, Q1, Q2}}."""
        if self.host.backend in SLOW_BUDGET:
            return {}  # on mim every query reads everything, whoever asks
        found = {}
        for kind in KINDS:
            picked = self.data.pick_kind(kind, KIND_USERS, self.data.seed)
            if picked:
                found[kind] = {'users': len(picked), **self.reads(picked, with_r=False)}
        return found

    def _writers(self):
        """(top actor, all its followers, 2,000 other users) as host entities."""
        top = self.data.top_actor()
        followers, start = self.data.followers_index()
        to_all = [self.users[f] for f in followers[start[top] : start[top + 1]]]
        to_2000 = [u for i, u in enumerate(self.users) if i != top][:W_RECIPIENTS]
        return self.users[top], to_all, to_2000

    def writes(self):
        actor, to_all, to_2000 = self._writers()
        found = {}
        undo = {'ours': self.undo_w, 'floor': self.floor.rollback}
        if self.strict is not None:
            undo['strict'] = self.strict.rollback
        for name, recipients in (('W_top', to_all), ('W_2000', to_2000)):
            sides = self.sides(
                lambda rs, a=actor: self.w(a, rs), self.fw, lambda rs, a=actor: self.sw(a, rs)
            )
            found[name] = self.pair(sides, [(recipients,)] * 10, undo=undo)
            found[name]['recipients'] = len(recipients)
        return found

    def checked_users(self, picked):
        """Whose answers are compared: the first measured users, the actors of the newest
        broadcasts (whose own broadcasts must be left out), a few users of each kind."""
        users = picked[: self.check_users] + self.data.newest_broadcasters(self.check_users)
        if self.host.backend not in SLOW_BUDGET:
            for kind in KINDS:
                users += self.data.pick_kind(kind, KIND_CHECKS, self.data.seed)
        return list(dict.fromkeys(users))

    def agreement(self, picked):
        """Do ours, the floor and the strict floor answer the same? (ids of Q1, the number of
        Q2, every field of R's rows)

        {'floor': bool, 'strict': bool or None (no strict floor)}.
        """
        found = {'floor': True, 'strict': True if self.strict is not None else None}
        for i in self.checked_users(picked):
            user = self.users[i]
            ours, count, shown = [a.id for a in self.q1(user)], self.q2(user), self.r(user)
            rows = self.fq1(user)
            theirs = [row[0] for row in rows] if self.sql else [d['_id'] for d in rows]
            found['floor'] &= ours == theirs and count == self.fq2(user)
            found['floor'] &= _same_rows(shown, self.fr(user), 'floor')
            found['floor'] &= _same_rows(self.r_orm(user), self.fr(user), 'floor (ORM)')
            if self.strict is not None:
                strict = [row[0] for row in self.sq1(user)]
                found['strict'] &= ours == strict and count == self.sq2(user)
                found['strict'] &= _same_rows(shown, self.sr(user), 'strict floor')
        self.host.abort()
        return found

    def sizes(self):
        """Bytes on disk of our tables and the strict floor's, indexes included (SQL)."""
        if not self.sql:
            return {}
        conn = self.strict.conn
        return {
            side: table_bytes(conn, self.strict.sqlite, prefix)
            for side, prefix in (('ours', 'activitystream_'), ('strict', 'strict_'))
        }

    def statement_counts(self, picked):
        """Statements (SQL) or collection operations (Mongo) per call, the most seen."""
        found = {}
        for name, fn in (('Q1', self.q1), ('Q2', self.q2), ('R', self.r)):
            most = 0
            for i in picked[: self.check_users]:
                self.host.abort()
                with self.host.statements() as seen:
                    fn(self.users[i])
                most = max(most, len(seen))
            found[name] = most
        self.host.abort()
        return found

    def explain(self, user):
        """EXPLAIN of the SQL our Q1 and Q2 send, and of the floor's, for ``user``."""
        if not self.sql:
            return {}
        from activitystream.storage.sqla import prepared

        plans = {
            'ours': {},
            'floor': self.floor.explain(self.floor_id(user), self.since(user)),
            'strict': self.strict.explain(self.floor_id(user), self.since(user)),
        }
        for name, fn in (('Q1', self.q1), ('Q2', self.q2)):
            self.host.abort()
            with self.host.statements() as seen:
                fn(user)
            statement, params, _ = seen[-1]
            prefix = (
                'EXPLAIN QUERY PLAN '
                if self.host.backend == 'sqlite'
                else 'EXPLAIN (ANALYZE, BUFFERS) '
            )
            # on the connection that sent it: a prepared statement exists there only
            conn = self.host.session.connection()
            rows = conn.exec_driver_sql(prefix + statement, params).fetchall()
            if self.host.backend == 'sqlite':
                plan = '\n'.join(f'{r[0]:>3} {r[1]:>3} {r[3]}' for r in rows)
            else:
                plan = '\n'.join(r[0] for r in rows)
            shown = prepared.definition(statement) or statement  # EXECUTE: what it names
            plans['ours'][name] = {'sql': shown, 'params': repr(params), 'plan': plan}
        self.host.abort()
        return plans

    def layers(self, picked):
        """p50 of our Q1, Q2, R and W peeled layer by layer: where does the gap to the floor sit?

        ``am`` (everything) / our exact SQL and parameters through SQLAlchemy's
        ``exec_driver_sql`` (no statement building, compiling or ORM) / the same
        through the raw DBAPI cursor (the database's cost of our SQL) / the floor.
        The four alternate call by call, like :meth:`pair`.
        """
        if not self.sql:
            return {}
        users = [self.users[i] for i in picked]
        actor, _, to_2000 = self._writers()
        found = {}
        questions = (
            ('Q1', self.q1, self.fq1, self.sq1, [(u,) for u in users]),
            ('Q2', self.q2, self.fq2, self.sq2, [(u,) for u in users]),
            # the floors' queries alone: what the database pays, nothing shown
            ('R', self.r, self.fr_sql, self.sr_sql, [(u,) for u in users]),
            ('W_2000', self.w, lambda _, rs: self.fw(rs), self.sw, [(actor, to_2000)] * 10),
        )
        sa_conn = self.host.engine.connect()
        raw_cur = self.floor.conn.cursor()
        try:
            for name, ours, floor, strict, calls in questions:
                sent = []
                for call in calls:
                    with self.host.statements() as seen, _copies() as copied:
                        ours(*call)
                    sent.append((seen, copied))
                    self.host.abort()
                writes = name.startswith('W')
                _prepare_for_replay(sent, sa_conn.exec_driver_sql, _raw(raw_cur))
                layers = self._layers(ours, floor, calls, sent, writes, sa_conn, raw_cur)
                layers['strict floor SQL'] = (
                    lambda n, fn=strict, calls=calls: fn(*calls[n]),
                    self.strict.rollback if writes else None,
                )
                found[name] = self._race(layers, len(calls))
                sa_conn.rollback()
                self.floor.rollback()
                self.strict.rollback()
                self.host.abort()
        finally:
            sa_conn.close()
        return found

    def _layers(self, ours, floor, calls, sent, writes, sa_conn, raw_cur):
        """{layer: (fn(call index), undo)} for one question."""
        undo_floor = self.floor.rollback if writes else None
        return {
            'am': (lambda n: ours(*calls[n]), self.undo_w if writes else self.host.forget_entities),
            'sqlalchemy exec_driver_sql': (
                lambda n: _replay(sa_conn.exec_driver_sql, _sa_copy(sa_conn), *sent[n], writes),
                sa_conn.rollback if writes else None,
            ),
            'raw DBAPI cursor, our SQL': (
                lambda n: _replay(_raw(raw_cur), _raw_copy(raw_cur), *sent[n], writes),
                undo_floor,
            ),
            'floor SQL': (lambda n: floor(*calls[n]), undo_floor),
        }

    def _race(self, layers, count):
        """p50 of each {name: (fn(n), undo)} over calls 0..count-1, in turn, after a warm-up."""
        _in_turn(layers, count)
        samples = _in_turn(layers, count * self.rounds, index=lambda n: n % count)
        return {name: stats(ms)['p50'] for name, ms in samples.items()}

    def profile(self, picked, top=25):
        """cProfile of our Q1 and Q2: where the time goes, and how much is the driver's."""
        found = {}
        args = [self.users[i] for i in picked[: self.profile_users]]
        if not args:
            return found
        actor, _, to_2000 = self._writers()
        writes = [(actor, to_2000)] * min(5, len(args))
        for name, fn, calls, undo in (
            ('Q1', self.q1, [(u,) for u in args], self.host.abort),
            ('Q2', self.q2, [(u,) for u in args], self.host.abort),
            ('R', self.r, [(u,) for u in args], self._abort_and_forget),
            ('W_2000', self.w, writes, self.undo_w),
        ):
            self.host.abort()
            prof = cProfile.Profile()
            for call in calls:
                prof.enable()
                fn(*call)
                prof.disable()
                undo()
            found[name] = _profile_summary(prof, len(calls), top)
        self.host.abort()
        return found

    def _abort_and_forget(self):
        self.host.abort()
        self.host.forget_entities()

    def close(self):
        self.host.abort()
        self.floor.close()
        if self.strict is not None:
            self.strict.close()


def _in_turn(sides, count, budget_s=None, index=lambda n: n):
    """{name: [ms]} of calls 0..count-1 of every side, {name: (fn(i), undo)}, taking turns.

    Call ``n`` of every side runs before call ``n + 1`` of any, and who goes
    first rotates; ``undo`` runs untimed. A ``budget_s`` stops after that many
    seconds (once MIN_SAMPLES calls are in).
    """
    samples = {name: [] for name in sides}
    items = list(sides.items())
    started = time.perf_counter()
    for n in range(count):
        k = n % len(items)
        for name, (fn, undo) in items[k:] + items[:k]:
            t0 = time.perf_counter()
            fn(index(n))
            samples[name].append((time.perf_counter() - t0) * 1000)
            if undo is not None:
                undo()
        if budget_s is not None and time.perf_counter() - started > budget_s:
            if n + 1 >= MIN_SAMPLES:
                break
    return samples


def _raw(cursor):
    """exec_driver_sql's shape on a raw DBAPI cursor: rows come back as a list."""

    def execute(sql, params):
        many = isinstance(params, list) and isinstance(params[0], (tuple, list, dict))
        (cursor.executemany if many else cursor.execute)(sql, params)
        return cursor.fetchall() if cursor.description else None

    return execute


@contextlib.contextmanager
def _copies():
    """(table, rows) of each COPY our storage sends while the block runs.

    PostgreSQL fan-outs go by ``COPY`` on the driver's cursor, which
    SQLAlchemy's statement events (the statement spy) do not see.
    """
    from activitystream.storage.sqla import recipients

    original, seen = recipients.copy_rows, []

    def spy(connection, table, rows, page):
        done = original(connection, table, rows, page)
        if done:
            seen.append((table, rows))
        return done

    recipients.copy_rows = spy
    try:
        yield seen
    finally:
        recipients.copy_rows = original


def _sa_copy(conn):
    from activitystream.storage.sqla.copy import copy_rows
    from activitystream.storage.sqla.recipients import PAGE

    return lambda table, rows: copy_rows(conn, table, rows, PAGE)


def _raw_copy(cursor):
    from activitystream.storage.sqla.copy import copy_text

    def copy(table, rows):
        columns = list(rows[0])
        sql = f'COPY {table.name} ({", ".join(columns)}) FROM STDIN'
        cursor.copy_expert(sql, io.StringIO(copy_text(rows, columns)))

    return copy


def _prepare_for_replay(sent, *executes):
    """PREPARE, on the replaying connections, what our captured ``EXECUTE`` statements name.

    The inbox page and its counts run as prepared statements on PostgreSQL:
    their EXECUTE means something only where the PREPARE was sent.
    """
    from activitystream.storage.sqla import prepared

    wanted = {prepared.definition(sql) for seen, _ in sent for sql, _, _ in seen} - {None}
    known = 'SELECT 1 FROM pg_prepared_statements WHERE name = %(name)s'
    for execute in executes:
        for sql in wanted:
            name = sql.split()[1]  # PREPARE <name> AS ...
            found = execute(known, {'name': name})
            if not (found if isinstance(found, list) else found.fetchall()):
                execute(sql, {})


def _replay(execute, copy, statements, copied, writes):
    """Send captured (sql, params, executemany) again, in order, fetching what returns rows;
    then the captured COPYs (deliveries have no foreign key: their action id can stay)."""
    new_id = None  # a replayed action gets a new id: its deliveries must follow
    for sql, params, _ in statements:
        result = execute(sql, _rebind(params, new_id))
        rows = result if isinstance(result, list) or result is None else None
        if rows is None and result is not None and result.returns_rows:
            rows = result.fetchall()
        if writes and rows and new_id is None:
            new_id = rows[0][0]
    for table, rows in copied:
        copy(table, rows)


def _rebind(params, action_id):
    """Parameters of a captured delivery INSERT, pointing at the replayed action."""
    if action_id is None or not isinstance(params, dict):
        return params  # SQLite (positional) does not enforce the foreign key
    return {
        k: action_id if k == 'action_id' or k.startswith('action_id__') else v
        for k, v in params.items()
    }


def _compare(by_side):
    """Each side's stats, and ours divided by the floor's (``ratio_*``) and the strict one's."""
    found = dict(by_side)
    ours = by_side['ours']
    for side, prefix in (('floor', 'ratio'), ('strict', 'strict_ratio')):
        if side in by_side:
            for p in ('p50', 'p99'):
                theirs = by_side[side][p]
                found[f'{prefix}_{p}'] = ours[p] / theirs if theirs else None
    return found


DRIVER = ('execute', 'executemany', 'fetchall', 'fetchone', 'fetchmany', 'insert_many', 'find')
DRIVER_FUNCTIONS = ('execute_values', 'execute_batch')  # psycopg2.extras, used by SQLAlchemy
GROUPS = {
    'driver (DBAPI execute + fetch)': lambda f, fn: (
        (fn.startswith('<method') and any(f"'{d}'" in fn for d in DRIVER))
        or ('psycopg2' in f and fn in DRIVER_FUNCTIONS)
    ),
    'SQLAlchemy compile (incl. cache key)': lambda f, fn: (
        'sqlalchemy' in f and fn in ('_compile_w_cache', '_generate_cache_key')
    ),
    'SQLAlchemy ORM session execute': lambda f, fn: (
        'sqlalchemy/orm/session.py' in f and fn == 'execute'
    ),
    'activitystream storage (build + run statement)': lambda f, fn: (
        'storage/' in f and fn in ('inbox', 'inbox_count', 'insert_actions')
    ),
    'activitystream validation (refs of recipients)': lambda f, fn: (
        'activitystream/manager.py' in f and fn == '_recipient_refs'
    ),
}


def _profile_summary(prof, calls, top):
    """Per-call ms of a few stacked groups, plus the top functions as text."""
    st = pstats.Stats(prof)
    total = st.total_tt
    groups = {}
    for (filename, _, fn), (_, _, _, cum, _) in st.stats.items():
        for group, match in GROUPS.items():
            if match(filename, fn):
                groups[group] = groups.get(group, 0) + cum
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats('tottime').print_stats(top)
    text = out.getvalue()
    text = text[text.find('   ncalls') :] if '   ncalls' in text else text
    return {
        'calls': calls,
        'total_ms_per_call': 1000 * total / calls,
        'groups_ms_per_call': {g: 1000 * v / calls for g, v in groups.items()},
        'top_by_tottime': text,
    }

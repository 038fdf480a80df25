"""Schema migrations: alembic revisions on SQLite and PostgreSQL, versioned steps on Ming.

The previous schema is the one before commit e3a0c6a (deliveries keyed by
(action, recipient) with a foreign key, a full broadcast index), made here the
way ``create_all`` made it then, filled through the API, its times rewritten
as the text SQLAlchemy's ``DateTime`` wrote on SQLite before revision 0007, and
upgraded by the gearbox commands; the result must be what ``create_all`` makes
today.
"""

import datetime as dt
import os

import pytest
import sqlalchemy as sa
import transaction
from pymongo import ASCENDING as ASC
from pymongo import DESCENDING as DESC
from tgext.pluggable.commands.alembic_migration import MigrateCommand as MigratePluggable

from activitystream import am, preferences, subscriptions
from activitystream.bootstrap import bootstrap
from activitystream.migration import SCRIPT_LOCATION
from activitystream.migration.command import MigrateCommand
from activitystream.storage.ming import migrations as ming_steps
from activitystream.storage.ming.schema import ACTIONS, DELIVERIES, INDEXES
from activitystream.storage.sqla.schema import DeclarativeBase
from activitystream.storage.sqla.types import Timestamp, from_millis

from .harness import (
    BACKENDS,
    _state,
    build_app,
    drop_postgresql_database,
    new_postgresql_database,
    sqlite_url,
)

SQL = [b for b in BACKENDS if b in ('sqlite', 'postgresql')]
OURS = (
    'actions',
    'deliveries',
    'recipients',
    'seen',
    'reads',
    'dismissals',
    'subscriptions',
    'outbox',
    'preferences',
    'digest_items',
    'digest_marks',
)
HEAD = '0008'


def revision_script(revision):
    """Alembic's Script of ``revision``: its module, its down revision."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option('script_location', SCRIPT_LOCATION)
    return ScriptDirectory.from_config(config).get_revision(revision)


# the last revision whose SQLite times were SQLAlchemy's text
TEXT_TIMES = revision_script('0007').down_revision


def live_app(global_conf, **local_conf):
    """The paste app factory of the test ini: the application the test built."""
    return _state['live'].app.app


def site_ini(tmp_path):
    ini = tmp_path / 'site.ini'
    ini.write_text('[app:main]\nuse = call:tests.test_migrations:live_app\n')
    return str(ini)


def migrate(tmp_path, *args, command_class=MigrateCommand):
    command = command_class(None, None)
    return command.run(command.get_parser('gearbox').parse_args(['-c', site_ini(tmp_path), *args]))


def names(prefix):
    return {short: f'{prefix}activitystream_{short}' for short in OURS}


def where(index):
    clause = next((v for k, v in index['dialect_options'].items() if k.endswith('_where')), None)
    return None if clause is None else ' '.join(str(clause).split())


def schema_of_create_all(env, prefix):
    """``described`` of an empty database of the same kind where create_all made the tables."""
    if env.backend == 'sqlite':
        engine, url = sa.create_engine(sqlite_url().replace('.sqlite', '-fresh.sqlite')), None
    else:
        url = new_postgresql_database(f'activitystream_migrations_fresh_{os.getpid()}')
        engine = sa.create_engine(url)
    try:
        env.model.metadata.create_all(engine)
        return described(engine, prefix)
    finally:
        engine.dispose()
        if url:
            drop_postgresql_database(url)


def described(engine, prefix):
    """Columns, keys and indexes of our tables as the database reports them."""
    found, out = sa.inspect(engine), {}
    for short, table in names(prefix).items():
        if not found.has_table(table):
            out[short] = None
            continue
        pk = found.get_pk_constraint(table)
        out[short] = dict(
            columns=[(c['name'], str(c['type']), c['nullable']) for c in found.get_columns(table)],
            primary=(pk['name'], pk['constrained_columns']),
            foreign=sorted(
                (k['name'] or '', k['constrained_columns'], k['referred_table'], k['options'])
                for k in found.get_foreign_keys(table)
            ),
            indexes=sorted(
                (i['name'], i['column_names'], bool(i['unique']), where(i))
                for i in found.get_indexes(table)
            ),
        )
    return out


def without_rowid(engine, table):
    with engine.connect() as conn:
        sql = conn.execute(
            sa.text('SELECT sql FROM sqlite_master WHERE name = :t'), {'t': table}
        ).scalar()
    return 'WITHOUT ROWID' in sql.upper()


def version(engine, prefix):
    with engine.connect() as conn:
        table = f'{prefix}activitystream_migrate'
        return [r[0] for r in conn.execute(sa.text(f'SELECT version_num FROM {table}'))]


def drop_ours(engine, prefix):
    with engine.begin() as conn:
        for table in reversed((*names(prefix).values(), f'{prefix}activitystream_migrate')):
            conn.execute(sa.text(f'DROP TABLE IF EXISTS {table}'))


def named_deliveries(engine, prefix):
    """The deliveries as (recipient type, recipient id, timestamp, action), whatever the layout."""
    table = f'{prefix}activitystream_deliveries'
    columns = {c['name'] for c in sa.inspect(engine).get_columns(table)}
    select = f'SELECT recipient_type, recipient_id, timestamp, action_id FROM {table}'
    if 'recipient_key' in columns:
        select = (
            f'SELECT r.recipient_type, r.recipient_id, d.timestamp, d.action_id FROM {table} d '
            f'JOIN {prefix}activitystream_recipients r ON r.id = d.recipient_key'
        )
    with engine.connect() as conn:
        return sorted(tuple(map(str, row)) for row in conn.execute(sa.text(select)))


def make_previous_schema(env, prefix):
    """Turn the tables create_all made into the layout before e3a0c6a, as create_all made it.

    The deliveries already there are kept, named by (type, id) as they then were.
    """
    d = sa.table(
        f'{prefix}activitystream_deliveries',
        *map(sa.column, ('recipient_key', 'action_id')),
        sa.column('timestamp', Timestamp()),
    )
    r = sa.table(
        f'{prefix}activitystream_recipients',
        *map(sa.column, ('id', 'recipient_type', 'recipient_id')),
    )
    with env.engine.connect() as conn:
        kept = conn.execute(
            sa.select(r.c.recipient_type, r.c.recipient_id, d.c.timestamp, d.c.action_id).join(
                r, r.c.id == d.c.recipient_key
            )
        ).all()
    deliveries = sa.Table(
        f'{prefix}activitystream_deliveries',
        sa.MetaData(),
        sa.Column(
            'action_id',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            sa.ForeignKey(f'{prefix}activitystream_actions.id', ondelete='CASCADE'),
            primary_key=True,
        ),
        sa.Column('recipient_type', sa.String(128), primary_key=True),
        sa.Column('recipient_id', sa.String(128), primary_key=True),
        sa.Column('timestamp', Timestamp(), nullable=False),  # DDL: DateTime's; times_as_text
    )
    sa.Index(
        f'{prefix}ix_activitystream_deliveries_inbox',
        *(deliveries.c[n] for n in ('recipient_type', 'recipient_id', 'timestamp', 'action_id')),
    )
    sa.Table(f'{prefix}activitystream_actions', deliveries.metadata, autoload_with=env.engine)
    with env.engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE {deliveries.name}'))
        conn.execute(sa.text(f'DROP TABLE {prefix}activitystream_recipients'))
        conn.execute(sa.text(f'DROP INDEX {prefix}ix_activitystream_actions_broadcast'))
        conn.execute(
            sa.text(
                f'CREATE INDEX {prefix}ix_activitystream_actions_broadcast '
                f'ON {prefix}activitystream_actions (broadcast, timestamp, id)'
            )
        )
        deliveries.create(conn)
        names = ('recipient_type', 'recipient_id', 'timestamp', 'action_id')
        if kept:
            conn.execute(deliveries.insert(), [dict(zip(names, row, strict=True)) for row in kept])


def time_columns(env, prefix):
    """(table, column) of every Timestamp column today's schema has, in the tables there are."""
    tables, found = env.model.metadata.tables, sa.inspect(env.engine)
    return [
        (table, column.name)
        for table in names(prefix).values()
        if found.has_table(table)
        for column in tables[table].columns
        if isinstance(column.type, Timestamp)
    ]


def times_as_text(env, prefix):
    """SQLite: rewrite every time as the code before revision 0007 stored it.

    That is the text of SQLAlchemy's own SQLite ``DateTime`` (a value that is
    text already stays); elsewhere nothing changes.
    """
    if env.backend != 'sqlite':
        return
    dialect = env.engine.dialect
    as_text = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    with env.engine.begin() as conn:
        for table, column in time_columns(env, prefix):
            select = (
                f'SELECT DISTINCT "{column}" FROM {table} WHERE typeof("{column}") = \'integer\''
            )
            update = sa.text(f'UPDATE {table} SET "{column}" = :text WHERE "{column}" = :ms')
            for ms in conn.execute(sa.text(select)).scalars().all():
                conn.execute(update, {'ms': ms, 'text': as_text(from_millis(ms))})
    assert_stored_as(env, prefix, 'text')


def assert_stored_as(env, prefix, kind):
    """SQLite: every time column holds values of storage class ``kind`` (``typeof``) or NULL."""
    wrong = {}
    with env.engine.connect() as conn:
        for table, column in time_columns(env, prefix):
            found = conn.execute(sa.text(f'SELECT DISTINCT typeof("{column}") FROM {table}'))
            kinds = set(found.scalars()) - {kind, 'null'}
            if kinds:
                wrong[table, column] = kinds
    assert not wrong


def through_the_api(env, bob, carol):
    """What the API answers of everything ``fill`` and ``more`` wrote, times included."""
    doc = env.document('Spec')
    return dict(
        pages={who: pages(who) for who in (bob, carol)},
        counts=[
            (am.count_not_seen_by_recipient(w), am.count_unread_by_recipient(w))
            for w in (bob, carol)
        ],
        seen=(am.last_seen(carol), am.read_until(bob)),  # the others are now less a window
        stream=[(a.verb, a.timestamp) for a in am.get_actions(everything=True).all()],
        subscribers=subscriptions.subscribers_of(doc).all(),
    )


def fill(env):
    """Notifications, a broadcast, reads, seen marks and subscriptions, through the API."""
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    doc = env.document('Spec')
    subscriptions.subscribe(bob, doc)
    for n in range(7):
        am.create(alice, f'edited{n}', target=doc, recipients=[bob, carol], extra={'n': n})
    am.create(alice, 'announced')
    first = am.get_by_recipient(bob).limit(1).all()[0]
    am.mark_read(bob, [first.id])
    am.mark_seen(carol)
    env.commit()
    return bob, carol


def pages(recipient, size=3):
    """Every notification of ``recipient``, page by page through cursors."""
    got, query = [], am.get_by_recipient(recipient)
    while page := query.limit(size).all():
        got.append([(a.verb, a.timestamp, a.extra) for a in page])
        query = am.get_by_recipient(recipient).before(page[-1].cursor)
    return got


def rows(engine, prefix):
    """Every row of our tables, columns in name order (a migration may reorder them)."""
    found, out = sa.inspect(engine), {}
    with engine.connect() as conn:
        for short, table in names(prefix).items():
            if not found.has_table(table):
                continue
            columns = ', '.join(sorted(c['name'] for c in found.get_columns(table)))
            selected = conn.execute(sa.text(f'SELECT {columns} FROM {table}'))
            out[short] = sorted(tuple(map(str, r)) for r in selected)
    return out


SITES = [(b, p) for b in SQL for p in ('', 'notes_')]


@pytest.fixture(params=SITES, ids=[f'{b}-{p or "plain"}' for b, p in SITES])
def site(request):
    backend, prefix = request.param
    options = dict(appid='notes', rename_tables=True) if prefix else {}
    env = build_app(backend, **options)
    yield env, prefix
    env.close()
    drop_ours(env.engine, prefix)  # the next app's create_all makes them again


def test_upgrade_from_the_previous_schema_keeps_the_data_and_makes_todays_schema(
    site, tmp_path, capsys
):
    env, prefix = site
    bob, carol = fill(env)
    before = {who: pages(who) for who in (bob, carol)}
    counts = (am.count_not_seen_by_recipient(carol), am.count_unread_by_recipient(bob))
    env.clear_session()
    make_previous_schema(env, prefix)
    before_rows = rows(env.engine, prefix)
    before_deliveries = named_deliveries(env.engine, prefix)
    times_as_text(env, prefix)
    with env.engine.begin() as conn:  # today's code reads it; the previous schema had none
        conn.execute(sa.text(f'DROP TABLE {prefix}activitystream_dismissals'))
    assert described(env.engine, prefix)['deliveries']['primary'][1] == [
        'action_id',
        'recipient_type',
        'recipient_id',
    ]

    assert migrate(tmp_path, 'upgrade') == 0
    assert version(env.engine, prefix) == [HEAD]

    after_rows = rows(env.engine, prefix)
    registered = after_rows.pop('recipients')  # (id, recipient_id, recipient_type): bob, carol
    assert len({row[0] for row in registered}) == len({row[1] for row in registered}) == 2
    assert {k: v for k, v in after_rows.items() if k != 'deliveries'} == {
        **{k: v for k, v in before_rows.items() if k != 'deliveries'},
        'dismissals': [],
    }
    assert named_deliveries(env.engine, prefix) == before_deliveries
    assert len(before_deliveries) == 14  # a broadcast is a flag of its action on SQL
    assert described(env.engine, prefix) == schema_of_create_all(env, prefix)
    if env.backend == 'sqlite':
        assert without_rowid(env.engine, f'{prefix}activitystream_deliveries')
        assert_stored_as(env, prefix, 'integer')
    assert {who: pages(who) for who in (bob, carol)} == before
    assert (am.count_not_seen_by_recipient(carol), am.count_unread_by_recipient(bob)) == counts

    capsys.readouterr()
    assert migrate(tmp_path, 'current') == 0
    assert f'{HEAD} (head)' in capsys.readouterr().out


def test_the_revisions_alone_make_todays_schema_and_take_it_back(site, tmp_path):
    env, prefix = site
    env.close()
    drop_ours(env.engine, prefix)

    assert migrate(tmp_path, 'upgrade') == 0
    today = schema_of_create_all(env, prefix)
    assert described(env.engine, prefix) == today

    assert migrate(tmp_path, 'downgrade') == 0  # one step back: broadcasts indexed without it
    assert version(env.engine, prefix) == ['0007']
    broadcasts = f'{prefix}ix_activitystream_actions_broadcast'
    indexes = [
        (n, columns[:-1] if n == broadcasts else columns, *rest)
        for n, columns, *rest in today['actions']['indexes']
    ]
    assert indexes != today['actions']['indexes']
    at_0007 = {**today, 'actions': {**today['actions'], 'indexes': indexes}}
    assert described(env.engine, prefix) == at_0007

    assert migrate(tmp_path, 'downgrade') == 0  # one step back: SQLite's times as text
    assert version(env.engine, prefix) == [TEXT_TIMES]
    assert described(env.engine, prefix) == at_0007  # the same tables: only values change
    assert migrate(tmp_path, 'downgrade') == 0  # one step back: recipients named by strings
    assert version(env.engine, prefix) == ['0005']
    at_0005 = described(env.engine, prefix)
    assert at_0005['deliveries']['primary'] == (
        f'{prefix}pk_activitystream_deliveries',
        ['recipient_type', 'recipient_id', 'timestamp', 'action_id'],
    )
    assert at_0005 == {**at_0007, 'recipients': None, 'deliveries': at_0005['deliveries']}

    assert migrate(tmp_path, 'downgrade') == 0  # one more: no index of reads by action
    assert version(env.engine, prefix) == ['0004']
    reads = at_0007['reads']
    without = [i for i in reads['indexes'] if i[0] != f'{prefix}ix_activitystream_reads_action']
    assert len(without) == len(reads['indexes']) - 1
    at_0004 = {**at_0005, 'reads': {**reads, 'indexes': without}}
    assert described(env.engine, prefix) == at_0004

    assert migrate(tmp_path, 'downgrade') == 0  # one more: no preferences, no digests
    assert version(env.engine, prefix) == ['0003']
    at_0003 = {**at_0004, 'preferences': None, 'digest_items': None, 'digest_marks': None}
    assert described(env.engine, prefix) == at_0003
    assert migrate(tmp_path, 'downgrade') == 0  # and one more: no dismissals
    assert version(env.engine, prefix) == ['0002']
    assert described(env.engine, prefix) == {**at_0003, 'dismissals': None}
    assert migrate(tmp_path, 'downgrade', '0001') == 0  # the previous schema
    assert version(env.engine, prefix) == ['0001']
    previous = described(env.engine, prefix)
    assert previous['deliveries']['primary'][1] == ['action_id', 'recipient_type', 'recipient_id']
    assert previous['deliveries']['foreign'][0][2] == f'{prefix}activitystream_actions'
    assert [i[:2] for i in previous['actions']['indexes'] if 'broadcast' in i[0]] == [
        (f'{prefix}ix_activitystream_actions_broadcast', ['broadcast', 'timestamp', 'id'])
    ]

    assert migrate(tmp_path, 'downgrade', 'base') == 0
    assert not set(names(prefix).values()) & set(sa.inspect(env.engine).get_table_names())
    assert version(env.engine, prefix) == []


def test_downgrade_keeps_the_deliveries_of_existing_actions(site, tmp_path):
    env, prefix = site
    bob, carol = fill(env)
    assert migrate(tmp_path, 'stamp', HEAD) == 0
    with env.engine.begin() as conn:  # a delivery whose action is gone: no foreign key today
        conn.execute(
            sa.text(
                f'INSERT INTO {prefix}activitystream_recipients (recipient_type, recipient_id) '
                "VALUES ('User', 'x')"
            )
        )
        insert = sa.text(
            f'INSERT INTO {prefix}activitystream_deliveries SELECT id, :t, 999999 '
            f"FROM {prefix}activitystream_recipients WHERE recipient_id = 'x'"
        )
        at = sa.bindparam('t', type_=Timestamp())
        conn.execute(insert.bindparams(at), {'t': dt.datetime(2020, 1, 1)})
    before = {who: pages(who) for who in (bob, carol)}
    env.clear_session()

    assert migrate(tmp_path, 'downgrade', '0001') == 0
    assert len(rows(env.engine, prefix)['deliveries']) == 14
    if env.backend == 'sqlite':
        assert_stored_as(env, prefix, 'text')
    assert migrate(tmp_path, 'upgrade') == 0
    assert {who: pages(who) for who in (bob, carol)} == before


def test_times_stored_as_text_read_back_the_same_after_the_upgrade_and_a_round_trip(site, tmp_path):
    """Revision 0007: SQLite's text times become integer milliseconds, exactly, and back."""
    env, prefix = site
    bob, carol = fill(env)
    am.dismiss(bob, am.get_by_recipient(bob).limit(2).all())  # a delivery and the broadcast
    am.mark_read(bob)  # all: a read-until time
    am.mark_read(carol, am.get_by_recipient(carol).limit(3).all()[2:])  # one: a read mark
    preferences.set_digest_period(carol, 'weekly')
    env.commit()
    assert migrate(tmp_path, 'stamp', HEAD) == 0
    at_head, before = rows(env.engine, prefix), through_the_api(env, bob, carol)
    assert at_head['dismissals'] and at_head['preferences'] and at_head['reads']
    env.clear_session()
    times_as_text(env, prefix)  # as the code before 0007 wrote them
    as_text = rows(env.engine, prefix)
    assert migrate(tmp_path, 'stamp', TEXT_TIMES) == 0

    assert migrate(tmp_path, 'upgrade') == 0
    assert rows(env.engine, prefix) == at_head
    if env.backend == 'sqlite':
        assert as_text != at_head
        assert_stored_as(env, prefix, 'integer')
    assert through_the_api(env, bob, carol) == before
    env.clear_session()

    assert migrate(tmp_path, 'downgrade', TEXT_TIMES) == 0
    assert rows(env.engine, prefix) == as_text  # SQLAlchemy's own text, to the character
    assert migrate(tmp_path, 'upgrade') == 0
    assert rows(env.engine, prefix) == at_head
    assert through_the_api(env, bob, carol) == before


def test_revision_0007_rewrites_every_time_column_of_the_schema():
    """A time column it missed would keep text that today's code cannot read on SQLite."""
    tables = DeclarativeBase.metadata.tables.items()  # keyed by our names, renamed or not
    times = {
        key: tuple(c.name for c in t.columns if isinstance(c.type, Timestamp)) for key, t in tables
    }
    assert revision_script('0007').module.TIMES == {key: ts for key, ts in times.items() if ts}


def test_a_new_sqlite_database_stores_times_as_integer_milliseconds():
    """No text time slips back in: the inbox key holds an integer (``typeof``), and so does all."""
    env = build_app('sqlite')
    try:
        at = dt.datetime(2001, 2, 3, 4, 5, 6, 789000)
        am.create(env.user('dora'), 'greeted', recipients=[env.user('erin')], timestamp=at)
        env.commit()
        with env.engine.connect() as conn:
            stored = conn.execute(
                sa.text('SELECT typeof(timestamp), timestamp FROM activitystream_deliveries')
            ).all()
        assert [tuple(row) for row in stored] == [('integer', 981173106789)]
        fill(env)
        assert_stored_as(env, '', 'integer')
    finally:
        env.close()
        drop_ours(env.engine, '')


@pytest.mark.parametrize('backend', SQL)
def test_tgext_pluggables_migrate_pluggable_runs_our_revisions(backend, tmp_path, capsys):
    env = build_app(backend, appid='notes', rename_tables=True)
    try:
        alice, bob = env.user('alice'), env.user('bob')
        am.create(alice, 'greeted', recipients=[bob])
        env.commit()
        make_previous_schema(env, 'notes_')

        migrate(tmp_path, 'activitystream', 'upgrade', command_class=MigratePluggable)
        out = capsys.readouterr().out
        assert 'does not support migrations' not in out
        assert version(env.engine, 'notes_') == [HEAD]
        assert [a.verb for a in am.get_by_recipient(bob).all()] == ['greeted']

        migrate(tmp_path, 'activitystream', 'db_version', command_class=MigratePluggable)
        assert f'{HEAD} (head)' in capsys.readouterr().out
    finally:
        env.close()
        drop_ours(env.engine, 'notes_')


@pytest.mark.parametrize('backend', SQL)
def test_setup_app_stamps_a_new_database_at_the_newest_revision(backend):
    env = build_app(backend)  # create_all made today's tables, as setup-app does
    try:
        bootstrap(None, {}, {})
        transaction.commit()
        assert version(env.engine, '') == [HEAD]
        bootstrap(None, {}, {})  # again: nothing to do
        transaction.commit()
        assert version(env.engine, '') == [HEAD]
    finally:
        env.close()
        drop_ours(env.engine, '')


SUPERSEDED = {
    ACTIONS: [[('actor_type', ASC), ('actor_id', ASC), ('timestamp', DESC), ('_id', DESC)]],
    DELIVERIES: [[('action_id', ASC), ('recipient_type', ASC)]],
}


def index_keys(db, collection):
    return sorted(
        [(f, int(w)) for f, w in info['key']]
        for info in db[collection].index_information().values()
    )


@pytest.mark.parametrize('backend', [b for b in BACKENDS if b not in SQL])
def test_ming_steps_drop_what_1_0_superseded_once_and_ensure_the_indexes(backend, tmp_path, capsys):
    env = build_app(backend)
    db = env.db
    db[ming_steps.VERSIONS].drop()
    for collection, superseded in SUPERSEDED.items():
        db[collection].drop_indexes()
        for keys in superseded:
            db[collection].create_index(keys)
    am.create(env.user('alice'), 'greeted', recipients=[env.user('bob')])
    env.commit()
    for collection, superseded in SUPERSEDED.items():
        assert set(map(tuple, superseded)) <= set(map(tuple, index_keys(db, collection)))

    assert migrate(tmp_path, 'upgrade') == 0
    assert 'Ming steps done: [1, 2]' in capsys.readouterr().out
    for collection, indexes in INDEXES.items():
        wanted = sorted([(f, int(w)) for f, w in keys] for keys, _ in indexes)
        assert [k for k in index_keys(db, collection) if k != [('_id', 1)]] == wanted
    assert [d['_id'] for d in db[ming_steps.VERSIONS].find()] == [1, 2]
    assert db[ACTIONS].count_documents({}) == 1

    assert migrate(tmp_path, 'upgrade') == 0
    assert 'none, up to date' in capsys.readouterr().out
    after = {collection: index_keys(db, collection) for collection in INDEXES}
    ming_steps.STEPS[0][2](db)  # a step is idempotent: run again, it changes nothing
    assert {collection: index_keys(db, collection) for collection in INDEXES} == after
    assert migrate(tmp_path, 'current') == 0
    assert 'Ming step 2 of 2' in capsys.readouterr().out
    assert migrate(tmp_path, 'downgrade') == 2

    db[ming_steps.VERSIONS].drop()
    bootstrap(None, {}, {})  # setup-app runs the steps too
    assert ming_steps.current(db) == ming_steps.HEAD

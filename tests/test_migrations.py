"""Schema migrations: alembic revisions on SQLite and PostgreSQL, versioned steps on Ming.

The previous schema is the one before commit e3a0c6a (deliveries keyed by
(action, recipient) with a foreign key, a full broadcast index), made here the
way ``create_all`` made it then, filled through the API, and upgraded by the
gearbox commands; the result must be what ``create_all`` makes today.
"""

import sqlalchemy as sa
import transaction

from activitystream import am, model, subscriptions
from activitystream.bootstrap import bootstrap
from activitystream.migration.command import MigrateCommand
from activitystream.storage.ming import migrations as ming_steps
from activitystream.storage.ming.schema import ACTIONS, DELIVERIES

from .harness import (
    BACKENDS,
    _state,
    build_app,
    drop_postgresql_database,
    new_postgresql_database,
    sqlite_url,
)

import pytest  # noqa: I001 - after the harness, like the other test modules

SQL = [b for b in BACKENDS if b in ('sqlite', 'postgresql')]
OURS = ('actions', 'deliveries', 'seen', 'reads', 'subscriptions', 'outbox')
HEAD = '0002'


def live_app(global_conf, **local_conf):
    """The paste app factory of the test ini: the application the test built."""
    return _state['live'].app.app


def site_ini(tmp_path):
    ini = tmp_path / 'site.ini'
    ini.write_text('[app:main]\nuse = call:tests.test_migrations:live_app\n')
    return str(ini)


def migrate(tmp_path, *args):
    command = MigrateCommand(None, None)
    return command.run(command.get_parser('gearbox').parse_args([*args, '-c', site_ini(tmp_path)]))


def names(prefix):
    return {short: f'{prefix}activitystream_{short}' for short in OURS}


def where(index):
    clause = next((v for k, v in index['dialect_options'].items() if k.endswith('_where')), None)
    return None if clause is None else ' '.join(str(clause).split())


def described(engine, prefix):
    """Columns, keys and indexes of our tables as the database reports them."""
    found, out = sa.inspect(engine), {}
    for short, table in names(prefix).items():
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
        return conn.execute(sa.text(f'SELECT version_num FROM {prefix}activitystream_migrate'))


def drop_ours(engine, prefix):
    with engine.begin() as conn:
        for table in reversed((*names(prefix).values(), f'{prefix}activitystream_migrate')):
            conn.execute(sa.text(f'DROP TABLE IF EXISTS {table}'))


def make_previous_schema(env, prefix):
    """Turn the tables create_all made into the layout before e3a0c6a, as create_all made it."""
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
        sa.Column('timestamp', sa.DateTime, nullable=False),
    )
    sa.Index(
        f'{prefix}ix_activitystream_deliveries_inbox',
        *(deliveries.c[n] for n in ('recipient_type', 'recipient_id', 'timestamp', 'action_id')),
    )
    sa.Table(f'{prefix}activitystream_actions', deliveries.metadata, autoload_with=env.engine)
    with env.engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE {deliveries.name}'))
        conn.execute(sa.text(f'DROP INDEX {prefix}ix_activitystream_actions_broadcast'))
        conn.execute(
            sa.text(
                f'CREATE INDEX {prefix}ix_activitystream_actions_broadcast '
                f'ON {prefix}activitystream_actions (broadcast, timestamp, id)'
            )
        )
        deliveries.create(conn)


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
            columns = ', '.join(sorted(c['name'] for c in found.get_columns(table)))
            selected = conn.execute(sa.text(f'SELECT {columns} FROM {table}'))
            out[short] = sorted(tuple(map(str, r)) for r in selected)
    return out


def fresh_engine(backend):
    """An empty database of the same kind, for what create_all makes today."""
    if backend == 'sqlite':
        return sa.create_engine(sqlite_url().replace('.sqlite', '-fresh.sqlite')), None
    url = new_postgresql_database('activitystream_migrations_fresh')
    return sa.create_engine(url), url


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
    make_previous_schema(env, prefix)
    bob, carol = fill(env)
    before_rows = rows(env.engine, prefix)
    before = {who: pages(who) for who in (bob, carol)}
    counts = (am.count_not_seen_by_recipient(carol), am.count_unread_by_recipient(bob))
    env.clear_session()
    assert described(env.engine, prefix)['deliveries']['primary'][1] == [
        'action_id',
        'recipient_type',
        'recipient_id',
    ]

    assert migrate(tmp_path, 'upgrade') == 0
    assert [r[0] for r in version(env.engine, prefix)] == [HEAD]

    assert rows(env.engine, prefix) == before_rows
    assert len(before_rows['deliveries']) == 14  # a broadcast is a flag of its action on SQL
    engine, url = fresh_engine(env.backend)
    try:
        env.model.metadata.create_all(engine)
        assert described(env.engine, prefix) == described(engine, prefix)
    finally:
        engine.dispose()
        if url:
            drop_postgresql_database(url)
    if env.backend == 'sqlite':
        assert without_rowid(env.engine, f'{prefix}activitystream_deliveries')
    assert {who: pages(who) for who in (bob, carol)} == before
    assert (am.count_not_seen_by_recipient(carol), am.count_unread_by_recipient(bob)) == counts

    capsys.readouterr()
    assert migrate(tmp_path, 'current') == 0
    assert f'{HEAD} (head)' in capsys.readouterr().out

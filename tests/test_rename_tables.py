"""``plug(..., rename_tables=True)``: tgext.pluggable prefixes our tables with the appid.

The schema must still be created (the reads table's foreign key follows the
renamed actions table), every statement must reach the renamed tables, and
Ming, whose collections tgext.pluggable does not rename, must keep working.
"""

import pytest
import sqlalchemy as sa

from activitystream import am, csrf, subscriptions

from .harness import BACKENDS, build_app

OURS = ('actions', 'deliveries', 'seen', 'reads', 'subscriptions', 'outbox')


def tables(prefix):
    return {name: f'{prefix}activitystream_{name}' for name in OURS}


@pytest.fixture(params=[(b, appid) for b in BACKENDS for appid in ('activitystream', 'notes')])
def renamed(request):
    backend, appid = request.param
    return build_app(backend, appid=appid, rename_tables=True), appid


def test_the_whole_api_works_on_renamed_tables(renamed):
    env, appid = renamed
    alice, bob, carol = env.user('alice'), env.user('bob'), env.user('carol')
    doc = env.document('Spec')
    assert subscriptions.subscribe(bob, doc) is True
    assert subscriptions.subscribe(carol, doc) is True
    edited = am.create(alice, 'edited', target=doc, recipients=[bob])
    am.create(alice, 'announced')  # a broadcast
    subscriptions.emit('{actor} commented', subscribers_of=doc, actor=alice, verb='commented')
    env.commit()

    assert [a.verb for a in am.get_by_recipient(bob).all()] == [
        'commented',
        'announced',
        'edited',
    ]
    assert am.count_not_seen_by_recipient(bob) == 3
    assert am.mark_read(bob, [edited.id]) == 1
    env.commit()
    assert am.count_unread_by_recipient(bob) == 2
    am.mark_seen(carol)
    env.commit()
    assert am.count_not_seen_by_recipient(carol) == 0
    assert [s.user_name for s in subscriptions.subscribers_of(doc)] == ['carol', 'bob']

    login, token = env.login(bob), {csrf.FIELD: csrf.token_for(bob)}
    listed = env.app.get(f'/{appid}/notifications.json', extra_environ=login).json
    assert [(n['verb'], n['read']) for n in listed['items']] == [
        ('commented', False),
        ('announced', False),
        ('edited', True),
    ]
    marked = env.app.post(f'/{appid}/mark_read', token, extra_environ=login).json
    assert marked == {'changed': 2, 'unread_count': 0, 'unseen_count': 3}  # read, not seen
    env.app.post(f'/{appid}/ajax_update_last_seen_of_a_recipient', token, extra_environ=login)
    assert env.app.get(f'/{appid}/', extra_environ=login).json == {
        'unseen_count': 0,
        'unread_count': 0,
    }
    if env.backend in ('sqlite', 'postgresql'):
        counts = row_counts(env.engine, tables(f'{appid}_'))
        assert counts == dict(actions=3, deliveries=3, seen=2, reads=0, subscriptions=2, outbox=0)
        assert row_counts(env.engine, tables(''), missing=0) == dict.fromkeys(OURS, 0)
    else:  # Ming: tgext.pluggable leaves collection names alone
        assert set(tables('').values()) <= set(env.db.list_collection_names())


def row_counts(engine, names, missing=None):
    """Rows in each of our tables, named as in ``names`` (``missing`` when not there)."""
    existing = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            short: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar()
            if name in existing
            else missing
            for short, name in names.items()
        }


@pytest.mark.parametrize('backend', [b for b in BACKENDS if b in ('sqlite', 'postgresql')])
def test_foreign_key_and_index_names_follow_the_renamed_tables(backend):
    env = build_app(backend, appid='notes', rename_tables=True)
    named, found = tables('notes_'), sa.inspect(env.engine)
    (key,) = found.get_foreign_keys(named['reads'])
    assert key['referred_table'] == named['actions']
    assert key['options'].get('ondelete') == 'CASCADE'
    # unique per database: two sites sharing one must not collide
    indexes = [i['name'] for name in named.values() for i in found.get_indexes(name)]
    assert len(indexes) == 13 and all(i.startswith('notes_ix_activitystream_') for i in indexes)
    if backend == 'postgresql':
        primary = found.get_pk_constraint(named['deliveries'])['name']
        assert primary == 'notes_pk_activitystream_deliveries'


@pytest.mark.parametrize('backend', [b for b in BACKENDS if b in ('sqlite', 'postgresql')])
def test_plugging_again_in_one_process_does_not_prefix_again(backend):
    build_app(backend, rename_tables=True)
    env = build_app(backend, rename_tables=True)
    assert set(tables('activitystream_').values()) <= set(env.model.metadata.tables)
    assert not [n for n in env.model.metadata.tables if n.count('activitystream_') > 2]
    env = build_app(backend)
    bob = env.user('bob')
    am.create(env.user('alice'), 'greeted', recipients=[bob])
    env.commit()
    assert row_counts(env.engine, {'actions': 'activitystream_actions'}) == {'actions': 1}

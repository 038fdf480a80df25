"""What an Action shows: entities loaded in batches, 0.1.1 display rules, time, i18n."""

import datetime as dt

import pytest

from activitystream import am
from activitystream.timeutil import time_since, utcnow

T0 = dt.datetime(2026, 4, 1, 9, 0)


def page_of_ten(env):
    """10 actions whose actors, targets and objects span 3 entity classes."""
    users = [env.user(f'user{i}', f'User {i}') for i in range(4)]
    docs = [env.document(f'Doc {i}') for i in range(3)]
    teams = [env.team(f'team{i}') for i in range(2)]
    bob = env.user('bob')
    am.create_many(
        [
            dict(
                actor=users[i % 4],
                verb='touched',
                target=docs[i % 3],
                action_obj=teams[i % 2],
                recipients=[bob],
                timestamp=T0 + dt.timedelta(minutes=i),
            )
            for i in range(10)
        ]
    )
    env.commit()
    return bob


def test_a_page_costs_one_query_per_entity_class_plus_one(env):
    bob = page_of_ten(env)
    with env.count_queries() as queries:
        actions = am.get_by_recipient(bob).limit(10).all()
        shown = [(a.actor, a.verb, a.target, str(a.action_obj), a.target_link) for a in actions]
    assert len(shown) == 10
    assert shown[0] == ('User 1', 'touched', 'Doc 0', 'team team1', '/documents/Doc 0')
    # Ming has no join across collections: one more to know whether the reader
    # dismissed a broadcast (then skipped a batch at a time); still none per row
    extra = 1 if not env.sql else 0
    assert len(queries) <= 3 + 1 + extra, queries


def test_recipients_load_in_one_batch(env):
    bob = page_of_ten(env)
    actions = am.get_by_recipient(bob).limit(10).all()
    with env.count_queries() as queries:
        names = {u.user_name for a in actions for u in a.recipients}
    assert names == {'bob'}
    extra = 1 if not env.sql else 0  # the dismissed recipients: no union on Ming
    assert len(queries) <= 2 + extra, queries  # deliveries + one entity class


def test_a_deleted_entity_reads_as_none(env):
    alice, bob = env.user('alice'), env.user('bob')
    doc = env.document('Gone soon')
    am.create(alice, 'edited', target=doc, action_obj=doc, recipients=[bob])
    env.delete(doc)
    env.commit()
    action = am.get_by_recipient(bob).first()
    assert action.target is None and action.action_obj is None and action.target_link is None
    assert action.target_ref is not None  # what was stored is still there
    assert action.actor == 'alice'
    assert action.render_str(timestamp_format=lambda t: 'T') == 'alice edited T'


def test_display_rules_of_0_1_1(env):
    alice = env.user('alice', 'Alice A.')
    team, doc = env.team('core'), env.document('Spec')
    action = am.create(team, 'updated', target=alice, action_obj=doc, timestamp=T0)
    assert action.actor == 'team core'  # no as_str: str()
    assert action.target == 'Alice A.'  # as_str property
    assert action.target_link == '/users/alice'  # as_link property
    assert action.action_obj is doc  # the entity itself
    assert action._id == action.id  # the seed README's cache key
    assert action.timestamp_24_hh_mm == '09:00:00'
    assert action.timestamp_24_hh_mm[:-3] == '09:00'  # as the 0.1.1 widget cuts it
    assert action.render_str() == 'team core updated Spec Alice A. 2026-04-01 09:00'
    assert action.render_str(action) == action.render_str()  # 0.1.1 call shape


@pytest.mark.parametrize(
    'ago, text',
    [
        (dt.timedelta(seconds=30), '30 seconds ago'),
        (dt.timedelta(minutes=1, seconds=5), '1 minute ago'),
        (dt.timedelta(minutes=5), '5 minutes ago'),
        (dt.timedelta(minutes=61), '1 hour ago'),
        (dt.timedelta(hours=5, minutes=2), '5 hours ago'),
        (dt.timedelta(days=1, hours=1), '1 day ago'),
        (dt.timedelta(days=3), '3 days ago'),
    ],
)
def test_timestamp_since_outside_a_request(env, ago, text):
    alice = env.user('alice')
    action = am.create(alice, 'did', timestamp=utcnow() - ago)
    assert action.timestamp_since == text
    assert action.render_str(timestamp_since=True) == f'alice did {text}'


def test_old_and_future_times():
    assert time_since(dt.datetime(2026, 1, 2, 3, 4), now=dt.datetime(2026, 3, 1)) == '2 months ago'
    # another server's clock a little ahead: never 'in 3 seconds'
    assert (
        time_since(dt.datetime(2026, 3, 1, 0, 0, 3), now=dt.datetime(2026, 3, 1)) == '1 second ago'
    )


@pytest.mark.parametrize(
    'language, texts',
    [
        ('en', ['5 minutes ago', '2 hours ago']),
        ('it', ['5 minuti fa', '2 ore fa']),
        ('ru', ['5 минут назад', '2 часа назад']),
        ('de', ['vor 5 Minuten', 'vor 2 Stunden']),
        ('fr', ['il y a 5 minutes', 'il y a 2 heures']),
        ('es', ['hace 5 minutos', 'hace 2 horas']),
        ('pt-BR', ['há 5 minutos', 'há 2 horas']),
        ('ja', ['5 分前', '2 時間前']),  # no catalog of ours: Babel's CLDR data alone
        ('xx', ['5 minutes ago', '2 hours ago']),  # unknown: English
    ],
)
def test_timestamp_since_in_the_requests_language(env, language, texts):
    alice, bob = env.user('alice'), env.user('bob')
    now = utcnow()
    am.create(alice, 'old', recipients=[bob], timestamp=now - dt.timedelta(hours=2, minutes=1))
    am.create(alice, 'new', recipients=[bob], timestamp=now - dt.timedelta(minutes=5))
    env.commit()
    reply = env.app.get(
        '/my_notifications',
        headers={'Accept-Language': language},
        extra_environ=env.login(bob),
    )
    assert [item['since'] for item in reply.json['items']] == texts
    assert reply.json['unseen'] == 2

"""The notification menu of issue 12: grouping, its endpoints, the badge and the "See all" page.

Every test runs on each backend (the ``env`` fixture): grouping is logic above
the storage, the same for all.
"""

import datetime as dt
import json

import pytest
from bs4 import BeautifulSoup

from activitystream import am, csrf, grouping, partials
from activitystream.options import ConfigurationError, validate
from tests.clock import recent

from .harness import build_app

T0 = recent()


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


def tea_party(env, commenters=5):
    """``commenters`` users comment on one document, then carol waves: newest first 1 + N rows."""
    bob = env.user('bob')
    doc = env.document('Tea party')
    names = ['Alice', 'Bob2', 'Carol', 'Dan', 'Erin', 'Frank', 'Gus'][:commenters]
    users = [env.user(n.lower(), n) for n in names]
    carol = env.user('carol2', 'Carol W.')
    am.create_many(
        [
            dict(actor=u, verb='commented on', target=doc, recipients=[bob], timestamp=at(i))
            for i, u in enumerate(reversed(users))
        ]
        + [dict(actor=carol, verb='waved', recipients=[bob], timestamp=at(30))]
    )
    env.commit()
    return bob, doc, users


def menu_rows(env, user, **headers):
    page = env.app.get('/menu', extra_environ=env.login(user), headers=headers)
    return BeautifulSoup(page.text, 'html.parser').select('#menu .activitystream-item')


def text(node):
    return ' '.join(node.select_one('.activitystream-text').get_text().split())


def post_json(env, user, path, body, token=True, status=200):
    headers = {'Content-Type': 'application/json'}
    if token:
        headers['X-CSRF-Token'] = csrf.token_for(user)
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return env.app.post(
        f'/activitystream/{path}',
        raw,
        headers=headers,
        extra_environ=env.login(user),
        status=status,
    )


# -- grouping ---------------------------------------------------------------------


def test_consecutive_notifications_on_one_target_are_one_row(env):
    bob, doc, users = tea_party(env)
    rows = menu_rows(env, bob)
    assert len(rows) == 2
    assert text(rows[0]).startswith('New: Carol W. waved')
    assert text(rows[1]).startswith('New: Alice, Bob2 and 3 others commented on Tea party')
    assert len(rows[1]['data-ids'].split(',')) == 5
    newest = am.get_by_recipient(bob).limit(10).all()[1]
    assert rows[1].time['datetime'].startswith(newest.timestamp.isoformat()[:19])


@pytest.mark.parametrize(
    'commenters, who',
    [
        (1, 'Alice'),
        (2, 'Alice and Bob2'),
        (3, 'Alice, Bob2 and Carol'),
        (4, 'Alice, Bob2 and 2 others'),
    ],
)
def test_names_and_plural_forms(env, commenters, who):
    bob, doc, users = tea_party(env, commenters)
    assert text(menu_rows(env, bob)[1]).startswith(f'New: {who} commented on Tea party')


def test_names_in_the_requests_language(env):
    bob, doc, users = tea_party(env, 4)
    rows = menu_rows(env, bob, **{'Accept-Language': 'it'})
    assert text(rows[1]).startswith('Nuova: Alice, Bob2 e altri 2 commented on Tea party')
    ru = menu_rows(env, bob, **{'Accept-Language': 'ru'})
    assert 'и ещё 2' in text(ru[1])


def test_a_row_is_unseen_when_any_member_is(env):
    bob, doc, users = tea_party(env)
    am.mark_seen(bob, until=at(2))  # the two oldest comments seen, three newer ones not
    env.commit()
    rows = menu_rows(env, bob)
    assert 'activitystream-unseen' in rows[1]['class']
    am.mark_seen(bob, until=at(4))
    env.commit()
    assert 'activitystream-unseen' not in menu_rows(env, bob)[1]['class']


def test_the_window_and_other_verbs_split_runs(env):
    bob, doc = env.user('bob'), env.document('Tea party')
    alice, dan = env.user('alice', 'Alice'), env.user('dan', 'Dan')
    am.create_many(
        [
            dict(actor=alice, verb='liked', target=doc, recipients=[bob], timestamp=at(-3000)),
            dict(actor=dan, verb='liked', target=doc, recipients=[bob], timestamp=at(0)),
            dict(actor=alice, verb='edited', target=doc, recipients=[bob], timestamp=at(1)),
            dict(actor=dan, verb='liked', target=doc, recipients=[bob], timestamp=at(2)),
        ]
    )
    env.commit()
    # liked / edited / liked: not consecutive; the 2-day-old like is outside a day's window
    assert [len(r['data-ids'].split(',')) for r in menu_rows(env, bob)] == [1, 1, 1, 1]
    actions = am.get_by_recipient(bob).limit(10).all()
    rows = grouping.group(actions, dt.timedelta(days=3), lambda a: False)
    assert [len(r.members) for r in rows] == [1, 1, 2]
    assert [len(r.members) for r in grouping.group(actions, 0, lambda a: False)] == [1] * 4


def test_no_target_no_grouping_and_the_same_actor_named_once(env):
    bob, alice = env.user('bob'), env.user('alice', 'Alice')
    doc = env.document('Tea party')
    am.create_many(
        [dict(actor=alice, verb='waved', recipients=[bob], timestamp=at(i)) for i in range(2)]
        + [
            dict(actor=alice, verb='edited', target=doc, recipients=[bob], timestamp=at(5 + i))
            for i in range(3)
        ]
    )
    env.commit()
    rows = menu_rows(env, bob)
    assert [len(r['data-ids'].split(',')) for r in rows] == [3, 1, 1]
    assert text(rows[0]).startswith('New: Alice edited Tea party')


def test_bad_windows_are_refused():
    with pytest.raises(ValueError, match='window'):
        grouping.group([], -1, lambda a: False)
    with pytest.raises(ConfigurationError, match='group_window'):
        validate({'group_window': 'a day'})
    assert validate({'group_window': 0})['group_window'] == dt.timedelta(0)


def test_group_window_zero_turns_grouping_off():
    env = build_app('sqlite', group_window=0)
    bob, doc, users = tea_party(env)
    assert len(menu_rows(env, bob)) == 6


def test_avatars_show_when_the_host_entity_has_them(env):
    bob, doc, users = tea_party(env, 2)
    rows = menu_rows(env, bob)
    assert rows[1].img['src'] == '/avatars/alice.png' and rows[1].img['alt'] == ''
    assert grouping.avatar_url(doc) is None


# -- endpoints --------------------------------------------------------------------


def test_opening_a_row_marks_all_its_members_read(env):
    bob, doc, users = tea_party(env)
    row = menu_rows(env, bob)[1]
    ids = row['data-ids'].split(',')
    unread = am.count_unread_by_recipient(bob)
    reply = post_json(
        env,
        bob,
        'open',
        {'actions': ids, 'until': row.form.find('input', attrs={'name': 'until'})['value']},
    )
    assert reply.json['changed'] == 5
    assert reply.json['unread_count'] == unread - 5
    assert reply.json['unseen_count'] == 0
    again = post_json(env, bob, 'open', {'actions': ids})
    assert again.json['changed'] == 0
    read = {str(a.id): a.read for a in am.get_by_recipient(bob).limit(10).all()}
    assert all(read[i] for i in ids) and not all(read.values())


def test_an_empty_until_opens_the_row_without_marking_seen(env):
    bob, doc, users = tea_party(env)
    ids = menu_rows(env, bob)[1]['data-ids'].split(',')
    reply = post_json(env, bob, 'open', {'actions': ids, 'until': ''})
    assert reply.json['changed'] == 5 and reply.json['unseen_count'] == 6


def test_the_no_script_form_marks_the_row_read_too(env):
    bob, doc, users = tea_party(env)
    row = menu_rows(env, bob)[1]
    fields = {i['name']: i['value'] for i in row.form.select('input')}
    reply = env.app.post('/activitystream/see', fields, extra_environ=env.login(bob), status=303)
    assert reply.location.endswith('/documents/Tea party') or 'Tea%20party' in reply.location
    assert am.count_unread_by_recipient(bob) == 1  # carol's wave


def test_dismissing_a_row_takes_it_out_for_this_user_only(env):
    bob, doc, users = tea_party(env)
    alice = users[0]
    am.create(users[1], 'commented on', target=doc, recipients=[alice])
    env.commit()
    row = menu_rows(env, bob)[1]
    reply = post_json(env, bob, 'dismiss', {'actions': row['data-ids'].split(',')})
    assert reply.json == {'dismissed': 5, 'unseen_count': 1, 'unread_count': 1}
    assert len(menu_rows(env, bob)) == 1
    assert am.get_by_recipient(alice).count() == 1


def test_mark_all_read_counts_what_changed(env):
    bob, doc, users = tea_party(env)
    reply = env.app.post(
        '/activitystream/mark_read',
        headers={'X-CSRF-Token': csrf.token_for(bob)},
        extra_environ=env.login(bob),
    )
    assert reply.json['changed'] == 6 and reply.json['unread_count'] == 0


@pytest.mark.parametrize('path', ['open', 'dismiss'])
def test_state_changes_need_post_and_the_users_token(env, path):
    bob, doc, users = tea_party(env)
    ids = [str(a.id) for a in am.get_by_recipient(bob).limit(2).all()]
    refused = post_json(env, bob, path, {'actions': ids}, token=False, status=403)
    assert refused.json['detail'] == 'missing or invalid CSRF token'
    other = env.user('mallory')
    env.commit()
    headers = {'X-CSRF-Token': csrf.token_for(other), 'Content-Type': 'application/json'}
    env.app.post(
        f'/activitystream/{path}',
        json.dumps({'actions': ids}),
        headers=headers,
        extra_environ=env.login(bob),
        status=403,
    )
    env.app.get(f'/activitystream/{path}', extra_environ=env.login(bob), status=405)
    env.app.post(f'/activitystream/{path}', status=401)
    assert am.count_unread_by_recipient(bob) == 6 and am.get_by_recipient(bob).count() == 6


@pytest.mark.parametrize(
    'body, message',
    [
        (b'not json', 'the body must be a JSON object'),
        ([1, 2], 'the body must be a JSON object'),
        ({}, 'actions must be a list of 1 to 100 action ids'),
        ({'actions': []}, 'actions must be a list of 1 to 100 action ids'),
        ({'actions': 'abc'}, 'actions must be a list of 1 to 100 action ids'),
        ({'actions': ['x'] * 101}, 'actions must be a list of 1 to 100 action ids'),
        ({'actions': [1]}, 'actions must hold action ids as strings'),
        ({'actions': ['not an id!']}, 'actions must be an action id'),
        ({'actions': ['1'], 'until': 5}, 'until must be an ISO 8601 timestamp'),
        ({'actions': ['1'], 'until': 'yesterday'}, 'until must be an ISO 8601 timestamp'),
        ({'actions': ['1'], 'more': 1}, "unknown field 'more': only actions and until are read"),
    ],
)
@pytest.mark.parametrize('path', ['open', 'dismiss'])
def test_bad_bodies_are_a_400_naming_the_problem(env, path, body, message):
    bob, doc, users = tea_party(env, 1)
    reply = post_json(env, bob, path, body, status=400)
    assert reply.content_type == 'application/json'
    assert reply.json['detail'] == message
    assert am.get_by_recipient(bob).count() == 2 and am.count_unread_by_recipient(bob) == 2


# -- the badge ----------------------------------------------------------------------


def test_the_badge_hides_at_zero_and_caps_its_text_not_its_label(env):
    bob = env.user('bob')
    alice = env.user('alice')
    env.commit()
    page = BeautifulSoup(env.app.get('/menu', extra_environ=env.login(bob)).text, 'html.parser')
    for badge in page.select('.activitystream-badge'):
        assert badge.has_attr('hidden') and badge.get_text() == '0'
    am.create_many([dict(actor=alice, verb='poked', recipients=[bob]) for _ in range(120)])
    env.commit()
    page = BeautifulSoup(env.app.get('/menu', extra_environ=env.login(bob)).text, 'html.parser')
    badges = page.select('.activitystream-badge')
    assert [b.get_text() for b in badges] == ['99+', '99+']
    assert not any(b.has_attr('hidden') for b in badges)
    assert page.select_one('#badge .activitystream-badge')['title'].endswith(': 120')
    assert page.select_one('.activitystream-toggle')['aria-label'].endswith(': 120)')
    assert page.select_one('#badge .activitystream-badge-text').get_text().endswith(': 120')
    assert env.app.get('/activitystream/', extra_environ=env.login(bob)).json['unseen_count'] == 120
    assert partials.badge_text(99) == '99' and partials.badge_text(100) == '99+'


# -- the "See all" page ---------------------------------------------------------------


def test_the_see_all_page_pages_by_cursor(env):
    bob, alice = env.user('bob'), env.user('alice', 'Alice')
    docs = [env.document(f'Doc {i}') for i in range(5)]
    am.create_many(
        [
            dict(actor=alice, verb='edited', target=docs[i], recipients=[bob], timestamp=at(i))
            for i in range(5)
        ]
    )
    env.commit()
    seen = []
    url = '/activitystream/all?limit=2'
    while url:
        page = env.app.get(url, extra_environ=env.login(bob))
        assert page.text.startswith('<!DOCTYPE html>')
        html = BeautifulSoup(page.text, 'html.parser')
        assert html.html['lang'] == 'en'
        section = html.select_one('section.activitystream-page')
        assert csrf.is_valid(bob, section['data-csrf-token'])
        seen += [i.select_one('i').get_text() for i in section.select('.activitystream-item')]
        older = section.select_one('a.activitystream-older')
        url = older and older['href']
        assert url is None or url.startswith('/activitystream/all?before=')
    assert seen == [f'Doc {i}' for i in (4, 3, 2, 1, 0)]
    bad = env.app.get('/activitystream/all?before=nope', extra_environ=env.login(bob), status=400)
    assert bad.json['detail']
    env.app.get('/activitystream/all?limit=0', extra_environ=env.login(bob), status=400)
    env.app.get('/activitystream/all', status=401)


def test_the_page_shows_read_state_in_words(env):
    bob, doc, users = tea_party(env, 2)
    html = BeautifulSoup(
        env.app.get('/activitystream/all', extra_environ=env.login(bob)).text, 'html.parser'
    )
    rows = html.select('.activitystream-item')
    assert all('activitystream-unread' in r['class'] for r in rows)
    assert text(rows[0]).startswith('New: Unread: Carol W. waved')
    am.mark_read(bob)
    env.commit()
    html = BeautifulSoup(
        env.app.get('/activitystream/all', extra_environ=env.login(bob)).text, 'html.parser'
    )
    assert not html.select('.activitystream-unread')


def test_notifications_json_has_the_rows(env):
    bob, doc, users = tea_party(env)
    body = env.app.get('/activitystream/notifications.json', extra_environ=env.login(bob)).json
    assert len(body['items']) == 6
    assert [r['count'] for r in body['rows']] == [1, 5]
    assert body['rows'][1]['who'] == 'Alice, Bob2 and 3 others'
    assert body['rows'][1]['ids'] == [i['id'] for i in body['items'][1:]]
    assert body['rows'][1]['read'] is False

"""The menu on the notification feed: with a ``feed_manager`` keeping one, the menu, the
"See all" page and notifications.json show the feed's groups and count its unseen groups;
opening, marking and dismissing reach the feed and the inbox; Redis down, the inbox answers.

Every test runs on each backend with the real Redis (tests/feeds_support.py).
"""

import datetime as dt
import logging
import socket
import threading
import time

import pytest
from bs4 import BeautifulSoup

from activitystream import am, csrf, model
from activitystream.feeds import FeedManager, NotificationRedisFeed, RedisFeed

from . import feeds_support
from .clock import recent
from .feeds_support import feeds_app
from .harness import BACKENDS
from .test_menu import menu_rows, post_json, text

redis = feeds_support.redis  # the shared fixture

NOON = recent().replace(hour=12, minute=0)  # every test's actions on one UTC day: one group


class MenuNotes(NotificationRedisFeed):
    key_format = 'feed:menu:%(user_id)s'


class MenuFeeds(FeedManager):
    feed_classes = {}
    notification_feed_class = MenuNotes


MANAGER = 'tests.test_menu_feed:MenuFeeds'


class PlainNotes(RedisFeed):
    key_format = 'feed:plain:%(user_id)s'


class PlainNoteFeeds(FeedManager):
    """A notification feed without seen / read state: the menu cannot count it."""

    feed_classes = {}
    notification_feed_class = PlainNotes


@pytest.fixture(params=BACKENDS)
def site(request, redis):
    return feeds_app(request.param, feed_manager=MANAGER)


def notes(user):
    return model.options()['feed_manager'].get_notification_feed(user)


def at(minutes):
    return NOON + dt.timedelta(minutes=minutes)


def interleaved(site):
    """Alice and Dan comment on the party, Carol waves between them: bob reads his feed."""
    bob = site.user('bob', 'Bob')
    alice, carol, dan = (site.user(n, n.title()) for n in ('alice', 'carol', 'dan'))
    party = site.document('Tea party')
    site.commit()
    notes(bob)  # an active reader: the fan-out writes his feed
    am.create(alice, 'commented on', target=party, recipients=[bob], timestamp=at(1))
    am.create(carol, 'waved', recipients=[bob], timestamp=at(2))
    am.create(dan, 'commented on', target=party, recipients=[bob], timestamp=at(3))
    site.commit()
    return bob


def badges(site, user):
    page = site.app.get('/menu', extra_environ=site.login(user))
    html = BeautifulSoup(page.text, 'html.parser')
    return [(b.get_text(), b.has_attr('hidden')) for b in html.select('.activitystream-badge')]


def test_the_menu_shows_the_feeds_groups_and_counts_its_unseen_groups(site):
    bob = interleaved(site)
    rows = menu_rows(site, bob)
    # the inbox has three runs (the wave cuts the comments apart); the feed two groups
    assert [text(r).split(' ', 1)[1][:36] for r in rows] == [
        'Dan and Alice commented on Tea party',
        'Carol waved ' + rows[1].time.get_text(),
    ]
    assert all('activitystream-unseen' in r['class'] for r in rows)
    assert not any('activitystream-unread' in r['class'] for r in rows)  # as without a feed
    assert len(rows[0]['data-ids'].split(',')) == 2
    assert rows[0].img['src'] == '/avatars/dan.png'  # the newest actor's
    assert rows[0].form.find('input', attrs={'name': 'target_link'})['value']
    assert badges(site, bob) == [('2', False), ('2', False)]
    polled = site.app.get('/activitystream/unseen_count.json', extra_environ=site.login(bob))
    assert polled.json == {'unseen_count': 2}
    assert am.count_not_seen_by_recipient(bob) == 3  # the API's count stays the inbox's


def test_counts_are_exact_beyond_the_names_shown(site):
    bob = site.user('bob', 'Bob')
    party = site.document('Tea party')
    users = [site.user(f'u{n}', f'U{n}') for n in range(7)]
    site.commit()
    notes(bob)
    for minute, user in enumerate(users):
        am.create(user, 'liked', target=party, recipients=[bob], timestamp=at(minute))
    site.commit()
    body = site.app.get('/activitystream/notifications.json', extra_environ=site.login(bob)).json
    assert [(r['who'], r['count'], r['unseen']) for r in body['rows']] == [
        ('U6, U5 and 5 others', 7, True)
    ]
    assert body['unseen_count'] == 1 and body['unread_count'] == 1


def test_opening_a_group_marks_it_read_in_the_feed_and_the_inbox(site):
    bob = interleaved(site)
    row = menu_rows(site, bob)[0]
    ids = row['data-ids'].split(',')
    reply = post_json(site, bob, 'open', {'actions': ids})
    assert reply.json == {'changed': 2, 'unseen_count': 1, 'unread_count': 1}
    assert notes(bob).counts() == (1, 1)  # the wave is left
    read = {str(a.id): a.read for a in am.get_by_recipient(bob).limit(10).all()}
    assert [read[i] for i in ids] == [True, True] and sum(read.values()) == 2
    assert badges(site, bob) == [('1', False), ('1', False)]


def test_the_no_script_form_marks_the_group_too(site):
    bob = interleaved(site)
    row = menu_rows(site, bob)[0]
    fields = {i['name']: i['value'] for i in row.form.select('input')}
    site.app.post('/activitystream/see', fields, extra_environ=site.login(bob), status=303)
    # seen up to the newest shown: every group; read: the opened one
    assert notes(bob).counts() == (0, 1)


def test_mark_all_then_seen_empties_both_counts(site):
    bob = interleaved(site)
    reply = post_json(site, bob, 'mark_read', {})
    assert reply.json == {'changed': 3, 'unseen_count': 2, 'unread_count': 0}
    newest = menu_rows(site, bob)[0].form.find('input', attrs={'name': 'until'})['value']
    headers = {'X-CSRF-Token': csrf.token_for(bob)}
    site.app.post(
        '/activitystream/ajax_update_last_seen_of_a_recipient',
        {'until': newest},
        headers=headers,
        extra_environ=site.login(bob),
    )
    assert notes(bob).counts() == (0, 0)
    assert badges(site, bob) == [('0', True), ('0', True)]
    unseen = site.app.get('/activitystream/unseen_count.json', extra_environ=site.login(bob))
    assert unseen.json == {'unseen_count': 0}


def test_dismissing_a_group_takes_it_out_of_the_feed_and_the_inbox(site):
    bob = interleaved(site)
    row = menu_rows(site, bob)[0]
    reply = post_json(site, bob, 'dismiss', {'actions': row['data-ids'].split(',')})
    assert reply.json == {'dismissed': 2, 'unseen_count': 1, 'unread_count': 1}
    assert [text(r).split(' ', 2)[1] for r in menu_rows(site, bob)] == ['Carol']
    assert notes(bob).count() == 1 and am.get_by_recipient(bob).count() == 1


def test_dismissing_through_the_api_takes_the_actions_out_of_the_feed_too(site):
    """``am.dismiss`` from a host's own code (no menu request): the feed follows after the
    commit, through the outbox, and its unseen count with it."""
    bob = interleaved(site)
    assert notes(bob).count() == 2  # groups: the party's comments, Carol's wave
    waved = am.get_by_recipient(bob).all()[1]
    assert waved.verb == 'waved'
    assert am.dismiss(bob, waved) == 1
    site.commit()
    assert notes(bob).count() == 1 and am.get_by_recipient(bob).count() == 2
    assert [text(r).split(' ', 2)[1] for r in menu_rows(site, bob)] == ['Dan']


def test_the_see_all_page_pages_the_feed_by_its_cursors(site):
    bob, alice = site.user('bob', 'Bob'), site.user('alice', 'Alice')
    docs = [site.document(f'Doc {i}') for i in range(5)]
    site.commit()
    notes(bob)
    for i, doc in enumerate(docs):
        am.create(alice, 'edited', target=doc, recipients=[bob], timestamp=at(i))
    am.create(alice, 'edited', target=docs[2], recipients=[bob], timestamp=at(9))
    site.commit()
    seen, url = [], '/activitystream/all?limit=2'
    while url:
        html = BeautifulSoup(site.app.get(url, extra_environ=site.login(bob)).text, 'html.parser')
        section = html.select_one('section.activitystream-page')
        seen += [i.select_one('i').get_text() for i in section.select('.activitystream-item')]
        older = section.select_one('a.activitystream-older')
        url = older and older['href']
    # Doc 2 was edited twice, apart: one group in the feed (two rows in the inbox)
    assert seen == [f'Doc {i}' for i in (2, 4, 3, 1, 0)]
    site.app.get('/activitystream/all?before=nope', extra_environ=site.login(bob), status=400)


def test_a_reader_whose_feed_redis_lost_gets_it_written_again(site, redis):
    bob = interleaved(site)
    for key in notes(bob).all_keys():
        redis.delete(key)
    assert [text(r).split(' ', 2)[1] for r in menu_rows(site, bob)] == ['Dan', 'Carol']


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_a_group_opened_before_redis_lost_the_feed_is_read_in_the_feed_written_again(site, redis):
    """Opening a group marks its actions read one by one in the inbox: the rebuild finds
    them there and marks the group seen and read again (the wave stays unread)."""
    bob = interleaved(site)
    row = menu_rows(site, bob)[0]
    post_json(site, bob, 'open', {'actions': row['data-ids'].split(',')})
    assert notes(bob).counts() == (1, 1)
    for key in notes(bob).all_keys():
        redis.delete(key)
    party, wave = (text(r) for r in menu_rows(site, bob))  # the menu writes the feed again
    assert 'Dan and Alice' in party and 'Carol' in wave
    assert notes(bob).counts() == (1, 1)


@pytest.mark.parametrize('backend', BACKENDS)
def test_redis_down_the_inbox_answers_and_a_warning_is_logged(backend, caplog):
    down = f'redis://127.0.0.1:{_closed_port()}/0'
    site = feeds_app(backend, redis_url=down, feed_manager=MANAGER)
    bob = site.user('bob', 'Bob')
    alice, carol, dan = (site.user(n, n.title()) for n in ('alice', 'carol', 'dan'))
    party = site.document('Tea party')
    site.commit()
    for minute, user in ((1, alice), (2, carol), (3, dan)):
        verb = 'waved' if user is carol else 'commented on'
        target = None if user is carol else party
        am.create(user, verb, target=target, recipients=[bob], timestamp=at(minute))
    site.commit()
    with caplog.at_level(logging.WARNING, logger='activitystream.feedmenu'):
        rows = menu_rows(site, bob)
        ids = rows[0]['data-ids'].split(',')
        opened = post_json(site, bob, 'open', {'actions': ids})
        dismissed = post_json(site, bob, 'dismiss', {'actions': ids})
    assert [text(r).split(' ', 2)[1] for r in rows] == ['Dan', 'Carol', 'Alice']  # the inbox's
    assert opened.json == {'changed': 1, 'unseen_count': 3, 'unread_count': 2}
    assert dismissed.json == {'dismissed': 1, 'unseen_count': 2, 'unread_count': 2}
    assert badges(site, bob) == [('2', False), ('2', False)]
    warned = [r.getMessage() for r in caplog.records if r.name == 'activitystream.feedmenu']
    assert warned and all('the inbox answers instead' in m for m in warned)


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_notification_feed_without_seen_state_leaves_the_menu_to_the_inbox(backend, redis):
    site = feeds_app(backend, feed_manager='tests.test_menu_feed:PlainNoteFeeds')
    bob = interleaved(site)
    assert [text(r).split(' ', 2)[1] for r in menu_rows(site, bob)] == ['Dan', 'Carol', 'Alice']
    assert badges(site, bob) == [('3', False), ('3', False)]


def test_the_feed_menu_costs_the_same_for_1_or_10_groups(site, redis):
    """Groups, their actions and entities load in bounded batches, never per row."""
    bob = site.user('bob', 'Bob')
    users = [site.user(f'u{i}', f'U{i}') for i in range(3)]
    docs = [site.document(f'd{i}') for i in range(10)]
    site.commit()
    notes(bob)

    def cost():
        site.clear_session()
        with site.count_queries() as sent, feeds_support.round_trips(redis) as trips:
            page = site.app.get('/menu_of?user_name=bob')
        return len(sent), len(trips), len(BeautifulSoup(page.text, 'html.parser').select('li'))

    am.create(users[0], 'edited', target=docs[0], recipients=[bob], timestamp=at(0))
    site.commit()
    queries, trips, shown = cost()
    assert shown == 1 and trips > 2  # touch, groups, counts (and the ping)
    am.create_many(
        [
            dict(actor=users[i % 3], verb='edited', target=docs[i], recipients=[bob],
                 timestamp=at(i))
            for i in range(1, 10)
        ]
    )  # fmt: skip
    site.commit()
    assert cost() == (queries, trips, 10)


def test_the_event_stream_pushes_the_feeds_unseen_groups(redis):
    site = feeds_app(
        'sqlite', blueprint={'activitystream.events_lifetime': '3'}, feed_manager=MANAGER
    )
    bob = site.user('bob', 'Bob')
    alice, carol, dan = (site.user(n, n.title()) for n in ('alice', 'carol', 'dan'))
    party = site.document('Tea party')
    site.commit()
    notes(bob)
    replies = []

    def read():
        replies.append(site.app.get('/activitystream/events', extra_environ=site.login(bob)))

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1)
    for minute, user in ((1, alice), (2, dan)):  # one group: the second leaves the count at 1
        am.create(user, 'commented on', target=party, recipients=[bob], timestamp=at(minute))
        site.commit()
        time.sleep(0.4)
    am.create(carol, 'waved', recipients=[bob], timestamp=at(3))
    site.commit()
    time.sleep(0.4)
    headers = {'X-CSRF-Token': csrf.token_for(bob)}
    site.app.post(
        '/activitystream/ajax_update_last_seen_of_a_recipient',
        headers=headers,
        extra_environ=site.login(bob),
    )
    reader.join(10)
    counts = [line for line in replies[0].text.splitlines() if line.startswith('data:')]
    # the inbox would say 1, 2, 3, 0
    assert counts == [f'data: {{"unseen_count": {n}}}' for n in (0, 1, 2, 0)]

"""The template partials, rendered by Kajiki and by Genshi, on every backend."""

import datetime as dt
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from activitystream import am, csrf
from activitystream.formats import iso
from tests.clock import recent

from .harness import BACKENDS, build_app, environment

TEMPLATES = Path(__file__).parent.parent / 'activitystream' / 'templates' / 'partials'
T0 = recent()


@pytest.fixture(params=[(b, r) for b in BACKENDS for r in ('kajiki', 'genshi')])
def page_env(request):
    backend, renderer = request.param
    return environment(backend, renderer)


def seed(env):
    alice, bob = env.user('alice', '<Alice>'), env.user('bob')
    doc = env.document('Doc & <i>co</i>')
    am.create_many(
        [
            dict(actor=alice, verb='edited', target=doc, recipients=[bob], timestamp=T0),
            dict(actor=alice, verb='waved', recipients=[bob], timestamp=T0 + dt.timedelta(hours=1)),
        ]
    )
    am.mark_seen(bob, until=T0)
    env.commit()
    return alice, bob, doc


def test_the_menu(page_env):
    env = page_env
    alice, bob, doc = seed(env)
    html = BeautifulSoup(env.app.get('/menu', extra_environ=env.login(bob)).text, 'html.parser')
    menu = html.select_one('#menu .activitystream-menu.dropdown')
    assert menu['data-unseen-url'] == '/activitystream/unseen_count.json'
    assert menu['data-events-url'] == '/activitystream/events'
    assert menu['data-open-url'] == '/activitystream/open'
    assert menu['data-dismiss-url'] == '/activitystream/dismiss'
    assert menu['data-newest'] == iso(T0 + dt.timedelta(hours=1))
    assert csrf.is_valid(bob, menu['data-csrf-token'])
    toggle = menu.select_one('button.activitystream-toggle.dropdown-toggle')
    panel = menu.select_one('.activitystream-panel.dropdown-menu')
    assert toggle['aria-expanded'] == 'false' and toggle['aria-controls'] == panel['id']
    assert toggle['aria-label'] == 'Notifications (Notifications not seen yet: 1)'
    assert menu.select_one('.activitystream-badge').get_text() == '1'
    assert menu.select_one('[aria-live=polite][role=status]') is not None
    items = menu.select('.activitystream-item')
    texts = [' '.join(i.select_one('.activitystream-text').get_text().split()) for i in items]
    assert texts[0].startswith('New: <Alice> waved ')  # unseen: said in words, not by colour only
    assert texts[1].startswith('<Alice> edited Doc & <i>co</i> ')
    assert 'activitystream-unseen' in items[0]['class']
    assert 'activitystream-unseen' not in items[1]['class']
    form = items[1].form
    assert form['method'] == 'post' and form['action'] == '/activitystream/see'
    fields = {i['name']: i['value'] for i in form.select('input')}
    assert fields['target_link'] == '/documents/Doc & <i>co</i>'
    assert fields['actions'] == items[1]['data-ids']
    assert csrf.is_valid(bob, fields['_csrf_token'])
    assert 'target_link' not in {i['name'] for i in items[0].form.select('input')}  # no target
    assert items[1].select_one('.activitystream-dismiss')['aria-label'].startswith('Dismiss: ')
    assert menu.select_one('a.activitystream-all')['href'] == '/activitystream/all'
    assert (
        html.select_one('#menu script')['src'] == '/_pluggable/activitystream/js/activitystream.js'
    )
    raw = env.app.get('/menu', extra_environ=env.login(bob)).text
    assert '&lt;Alice&gt;' in raw and '<Alice>' not in raw  # escaped, never markup


def test_the_badge_and_the_legacy_widget(page_env):
    env = page_env
    alice, bob, doc = seed(env)
    html = BeautifulSoup(env.app.get('/menu', extra_environ=env.login(bob)).text, 'html.parser')
    badge = html.select_one('#badge .activitystream-badge')
    assert (
        badge.get_text() == '1' and badge['data-unseen-url'] == '/activitystream/unseen_count.json'
    )
    panel = html.select_one('#widget .panel.panel-success')
    assert panel.select_one('.panel-heading .panel-title').get_text() == 'Latest'
    assert panel.select_one('.panel-body')['style'] == 'max-height: 10em'
    rows = panel.select('.panel-body > div')
    assert len(rows) == 2 and len(panel.select('hr')) == 1
    hh_mm = (T0 + dt.timedelta(hours=1)).strftime('%H:%M')
    assert ' '.join(rows[0].get_text().split()) == f'{hh_mm} - <Alice> waved'
    since = BeautifulSoup(
        env.app.get('/menu?since=1', extra_environ=env.login(bob)).text, 'html.parser'
    )
    first = ' '.join(since.select('#widget .panel-body > div')[0].get_text().split())
    assert first.startswith('<Alice> waved') and first.endswith('ago')


def test_nothing_for_anonymous_visitors(env):
    env.app.get('/menu', status=401)  # the host's page needs a user; partials render nothing
    page = BeautifulSoup(env.app.get('/menu_of?user_name=nobody').text, 'html.parser')
    assert page.select_one('#only').contents == []


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_menu_costs_the_same_for_1_or_10_notifications(backend):
    """Entities load together, never per row: 10 rows cost what 1 row costs."""
    env = environment(backend)
    bob = env.user('bob')
    users = [env.user(f'u{i}') for i in range(3)]
    docs = [env.document(f'd{i}') for i in range(3)]
    teams = [env.team(f't{i}') for i in range(3)]
    env.commit()

    def cost():
        env.clear_session()
        with env.count_queries() as sent:
            env.app.get('/menu_of?user_name=bob')
        return len(sent)

    empty = cost()
    am.create(users[0], 'did', target=docs[0], action_obj=teams[0], recipients=[bob])
    env.commit()
    one = cost()
    am.create_many(
        [
            dict(actor=users[i % 3], verb='did', target=docs[i % 3], action_obj=teams[i % 3],
                 recipients=[bob])
            for i in range(9)
        ]
    )  # fmt: skip
    env.commit()
    ten = cost()
    assert ten == one
    # User, Document and Team: one query for all three on SQL, one per collection on Ming
    assert one - empty == (1 if env.sql else 3)


def test_the_menu_cache_is_per_recipient_and_per_state(env):
    alice, bob, doc = seed(env)
    carol = env.user('carol')
    am.create(alice, 'greeted', recipients=[carol])
    env.commit()
    bobs = env.app.get('/menu_of?user_name=bob&cache_expire=600').text
    carols = env.app.get('/menu_of?user_name=carol&cache_expire=600').text
    assert 'greeted' in carols and 'greeted' not in bobs
    assert env.app.get('/menu_of?user_name=bob&cache_expire=600').text == bobs
    am.create(alice, 'poked', recipients=[bob])
    env.commit()
    assert 'poked' in env.app.get('/menu_of?user_name=bob&cache_expire=600').text


def test_a_host_can_replace_a_template():
    from tgext.pluggable import replace_template

    def replace(cfg):
        old = 'activitystream.templates.partials.unread_badge'
        replace_template(cfg, old, 'hosts.templates.custom_badge')

    env = build_app('sqlite', configure=replace)
    alice, bob, doc = seed(env)
    html = BeautifulSoup(env.app.get('/menu', extra_environ=env.login(bob)).text, 'html.parser')
    assert html.select_one('#badge .custom-badge').get_text() == '1 new'


@pytest.mark.parametrize(
    'name',
    [
        'notifications_menu',
        'notifications_list',
        'notifications_page',
        'page',
        'unread_badge',
        'bootstrap_widget',
    ],
)
def test_genshi_twins_match_the_kajiki_templates(name):
    """One markup, written in the subset both engines read: the twins must not drift."""
    assert (TEMPLATES / f'{name}.html').read_text() == (TEMPLATES / f'{name}.xhtml').read_text()


def test_static_files_are_served(env):
    js = env.app.get('/_pluggable/activitystream/js/activitystream.js')
    assert b'EventSource' in js.body
    env.app.get('/_pluggable/activitystream/css/activitystream.css')


@pytest.mark.parametrize(
    'language, title, empty',
    [
        ('en', 'Notifications', 'No notifications yet'),
        ('it', 'Notifiche', 'Ancora nessuna notifica'),
        ('ru', 'Уведомления', 'Уведомлений пока нет'),
        ('de', 'Benachrichtigungen', 'Noch keine Benachrichtigungen'),
        ('fr', 'Notifications', 'Aucune notification pour le moment'),
        ('es', 'Notificaciones', 'Todavía no hay notificaciones'),
        ('pt-BR', 'Notificações', 'Nenhuma notificação ainda'),
    ],
)
def test_the_menu_speaks_the_request_language(env, language, title, empty):
    bob = env.user('bob')
    env.commit()
    page = env.app.get('/menu', headers={'Accept-Language': language}, extra_environ=env.login(bob))
    html = BeautifulSoup(page.text, 'html.parser')
    assert html.select_one('#menu .activitystream-title').get_text() == title
    assert html.select_one('#menu .activitystream-empty').get_text() == empty
    assert html.select_one('#menu .activitystream-empty').get('hidden') is None


def test_the_legacy_widget_caches_under_its_key(env):
    alice, bob, doc = seed(env)
    first = env.app.get('/menu?cache_key=bobs-panel', extra_environ=env.login(bob)).text
    am.create(alice, 'poked', recipients=[bob])
    env.commit()
    again = BeautifulSoup(
        env.app.get('/menu?cache_key=bobs-panel', extra_environ=env.login(bob)).text, 'html.parser'
    )
    cached = again.select_one('#widget')
    assert cached == BeautifulSoup(first, 'html.parser').select_one('#widget')  # as rendered first
    assert 'poked' not in cached.get_text()
    assert 'poked' in again.select_one('#menu').get_text()  # the menu is not cached
    fresh = env.app.get('/menu?cache_key=other', extra_environ=env.login(bob)).text
    assert 'poked' in BeautifulSoup(fresh, 'html.parser').select_one('#widget').get_text()


@pytest.mark.parametrize('backend', BACKENDS)
def test_a_grouped_menu_costs_what_an_ungrouped_one_does(backend):
    """Ten comments on one document are one row, read with the same queries as ten rows."""
    env = environment(backend)
    bob, doc = env.user('bob'), env.document('Tea party')
    users = [env.user(f'u{i}') for i in range(3)]
    env.commit()

    def cost():
        env.clear_session()
        with env.count_queries() as sent:
            page = env.app.get('/menu_of?user_name=bob')
        return len(sent), BeautifulSoup(page.text, 'html.parser').select('.activitystream-item')

    am.create(users[0], 'edited', target=doc, recipients=[bob])
    env.commit()
    one, rows = cost()
    am.create_many(
        [dict(actor=users[i % 3], verb='commented on', target=doc, recipients=[bob])
         for i in range(10)]
    )  # fmt: skip
    env.commit()
    grouped, rows = cost()
    assert len(rows) == 1 and len(rows[0]['data-ids'].split(',')) == 10
    assert grouped == one

"""The sample app in a real headless Chromium: the live badge and the menu, end to end.

The site is served by ``gearbox serve`` in its own process on 127.0.0.1 (the
demo data of ``gearbox setup-app``), so what the browser sees crosses real HTTP,
real server-sent events through Redis, and the real login form. axe-core (the
npm package of package.json, installed by ``make test``) checks the menu and
the "See all" page in both colour schemes.
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from . import sample_server
from . import subscription_support as support
from .harness import IN_CI

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
SCREENSHOT = ROOT / 'docs' / 'notifications-menu.png'
SCREENSHOTS = {
    'light': SCREENSHOT,
    'dark': ROOT / 'docs' / 'notifications-menu-dark.png',
    'mobile': ROOT / 'docs' / 'notifications-menu-mobile.png',
}
AXE = ROOT / 'node_modules' / 'axe-core' / 'axe.min.js'
FLAGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """http://127.0.0.1:<port> serving the sample app on a fresh SQLite demo database.

    Its Redis keys (timelines, live pushes) under this run's prefix, deleted at the end.
    """
    redis = support.redis_client()
    prefix = f'{support.REDIS_PREFIX}:browser'
    settings = {'sampleapp.redis_url': support.REDIS_URL, 'sampleapp.redis_prefix': prefix}
    with sample_server.serve(tmp_path_factory.mktemp('site'), **settings) as url:
        yield url
    support.drop_redis_keys(redis)


@pytest.fixture(scope='module')
def chromium():
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail('Chromium is missing (CI=true: .ci/run installs it with apt-get)')
        pytest.skip('no Chromium here: apt-get install chromium chromium-driver')
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def log_in(browser, site, user_name, width=1100, height=700, scheme='light'):
    context = browser.new_context(viewport={'width': width, 'height': height}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f'{site}/login')
    page.fill('input[name=login]', user_name)
    page.fill('input[name=password]', 'demo')
    page.click('form#login button[type=submit], form#login input[type=submit]')
    page.wait_for_load_state()
    return page


def badge(page):
    return page.locator('nav .activitystream-menu .activitystream-badge')


def test_a_tab_refused_a_stream_polls_instead(site, chromium):
    """events_per_user = 2: erin's third tab gets a 429 for its stream and stays live by polling.

    First in this module: no other stream is open yet, so the process cap (4, a
    quarter of the sample app's 16 threads) leaves erin her two.
    """
    first = log_in(chromium, site, 'erin')  # on the home page, following its events
    tabs = [first, first.context.new_page(), first.context.new_page()]
    events, polls = [], []
    for number, tab in enumerate(tabs):
        tab.on('request', lambda r, n=number: '/unseen_count.json' in r.url and polls.append(n))
    for tab in tabs[1:]:
        with tab.expect_response(lambda r: '/activitystream/events' in r.url) as reply:
            tab.goto(f'{site}/')
        events.append(reply.value.status)
    assert events == [200, 429]
    before = int(badge(tabs[0]).inner_text())

    bob = log_in(chromium, site, 'bob')
    bob.goto(f'{site}/users/erin')
    bob.click('form#follow button')
    bob.wait_for_load_state()
    for tab in tabs:  # pushed to the first two, polled by the third
        tab.wait_for_function(
            'n => document.querySelector("nav .activitystream-badge").textContent === String(n)',
            arg=before + 1,
            timeout=20000,
        )
    assert set(polls) == {2}
    for page in (first, bob):
        page.context.close()


def test_live_badge_menu_and_click(site, chromium):
    alice = log_in(chromium, site, 'alice')
    alice.goto(f'{site}/')
    before = int(badge(alice).inner_text())

    # dave follows alice from his own browser while alice's page stays open
    dave = log_in(chromium, site, 'dave')
    dave.goto(f'{site}/users/alice')
    dave.click('form#follow button')
    dave.wait_for_load_state()

    # the badge changes without a reload (pushed, or polled where there is no Redis)
    alice.wait_for_function(
        'n => document.querySelector("nav .activitystream-badge").textContent === String(n)',
        arg=before + 1,
        timeout=20000,
    )

    alice.click('nav .activitystream-toggle')
    first = alice.locator('nav .activitystream-item').first
    first.wait_for()
    alice.wait_for_function(  # the list was reloaded when the menu opened
        '() => document.querySelector("nav .activitystream-item").textContent'
        '.includes("Dave Bowman started following")'
    )
    alice.wait_for_function(
        '() => document.querySelector("nav .activitystream-badge").textContent === "0"'
    )
    if os.environ.get('ACTIVITYSTREAM_WRITE_SCREENSHOT'):
        alice.screenshot(path=str(SCREENSHOT))

    with alice.expect_navigation():
        first.locator('.activitystream-link').click()
    assert alice.url == f'{site}/users/alice'
    assert badge(alice).inner_text() == '0'


def timeline_has(page, site, actor, expected, seconds=10):
    """Reload the home page until its timeline shows (or not) rows by ``actor``; bounded."""
    rows = page.locator('#timeline li b', has_text=actor)
    deadline = time.monotonic() + seconds
    while True:
        page.goto(f'{site}/')
        if (rows.count() > 0) == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f'rows of {actor} in the timeline: {rows.count()}')
        time.sleep(0.2)


def test_following_fills_the_timeline_and_unfollowing_empties_it(site, chromium):
    carol = log_in(chromium, site, 'carol')  # follows alice and bob in the demo
    timeline = carol.locator('#timeline')
    assert timeline.locator('li').count() > 0
    assert timeline.locator('li b', has_text='Dave Bowman').count() == 0

    carol.goto(f'{site}/users/dave')
    carol.click('form#follow button')
    carol.wait_for_load_state()
    assert carol.url == f'{site}/users/dave'  # back to his page
    assert carol.locator('form#follow button').inner_text() == 'Unfollow'
    timeline_has(carol, site, 'Dave Bowman', True)
    assert carol.locator('#timeline li', has_text='Open the pod bay doors').count() == 1

    carol.goto(f'{site}/users/dave')
    carol.click('form#follow button')
    carol.wait_for_load_state()
    timeline_has(carol, site, 'Dave Bowman', False)
    assert carol.locator('#timeline li').count() > 0  # alice's and bob's stay
    carol.context.close()


def fetch_json(page, url):
    return page.evaluate("url => fetch(url, {credentials: 'same-origin'}).then(r => r.json())", url)


def test_two_commenters_are_one_row_of_the_menu_and_opening_it_clears_the_badge(site, chromium):
    """The menu on the site's notification feed: one row and one badge count for the group."""
    erin = log_in(chromium, site, 'erin')
    before = int(badge(erin).text_content())
    erin.fill('form#publish textarea[name=text]', 'Picnic on Sunday')
    with erin.expect_navigation():
        erin.click('form#publish button[type=submit]')
    post_url = erin.url
    for name in ('alice', 'dave'):
        page = log_in(chromium, site, name)
        page.goto(post_url)
        page.fill('form#comment textarea[name=text]', f'{name} brings cake')
        with page.expect_navigation():
            page.click('form#comment button[type=submit]')
        page.context.close()

    row = erin.locator('nav .activitystream-item', has_text='Picnic on Sunday')
    deadline = time.monotonic() + 20
    while True:  # the delivery thread writes the feed a moment after each comment
        erin.goto(f'{site}/')
        if row.count() and 'Alice' in row.text_content():
            break
        menu = erin.locator('nav .activitystream-list').text_content()
        assert time.monotonic() < deadline, f'no row of both commenters in {menu!r}'
        time.sleep(0.2)
    assert row.count() == 1
    text = ' '.join(row.locator('.activitystream-text').text_content().split())
    assert 'Dave Bowman and Alice Liddell commented on “Picnic on Sunday”' in text
    assert 'activitystream-unseen' in row.get_attribute('class')
    ids = row.get_attribute('data-ids')
    assert len(ids.split(',')) == 2
    assert int(badge(erin).text_content()) == before + 1  # one group, two notifications
    erin.goto(f'{site}/activitystream/all?limit=100')
    unseen_rows = erin.locator('.activitystream-item.activitystream-unseen').count()
    erin.goto(f'{site}/')
    assert int(badge(erin).text_content()) == unseen_rows

    erin.click('nav .activitystream-toggle')
    erin.wait_for_function(
        '() => document.querySelector("nav .activitystream-badge").textContent === "0"'
    )
    erin.goto(f'{site}/')
    assert badge(erin).text_content() == '0' and badge(erin).is_hidden()
    assert 'activitystream-unseen' not in row.get_attribute('class')

    with opening(erin):
        erin.click('nav .activitystream-toggle')
    with erin.expect_navigation():
        row.locator('.activitystream-link').click()
    assert erin.url == post_url
    rows = fetch_json(erin, f'{site}/activitystream/notifications.json')['rows']
    [opened] = [r for r in rows if ','.join(r['ids']) == ids]
    assert opened['read'] is True and opened['unseen'] is False
    erin.context.close()


# -- issue 12: grouping, actions, keyboard, layout, axe ---------------------------------


@pytest.fixture(scope='module')
def axe_source():
    if not AXE.exists():
        if IN_CI:
            pytest.fail(f'{AXE} is missing (CI=true: make test runs npm ci)')
        pytest.skip('axe-core is not installed: npm ci')
    return AXE.read_text()


def axe_violations(page, source, context):
    """Serious and critical axe-core violations (WCAG 2.x A/AA) inside ``context``."""
    if not page.evaluate('() => Boolean(window.axe)'):
        page.add_script_tag(content=source)
    found = page.evaluate(
        """context => axe.run(context, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
           .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
             nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))""",
        context,
    )
    return [v for v in found if v['impact'] in ('serious', 'critical')]


def focused(page):
    return page.evaluate(
        "() => document.activeElement.className + '|' + document.activeElement.textContent.trim()"
    )


def menu_open(page):
    return page.locator('nav .activitystream-toggle').get_attribute('aria-expanded') == 'true'


def opening(page):
    """Wait for the seen mark that opening the menu sends after reloading its list.

    The reload replaces the rows: one focused, dismissed or marked before it
    ends comes back as it was (the badge may be hidden already, no help).
    """
    return page.expect_response(lambda r: '/ajax_update_last_seen_of_a_recipient' in r.url)


def open_by_keyboard(page):
    """Tab from the top of the page to the menu's button, then Enter: all a keyboard user has."""
    page.keyboard.press('Tab')
    for _ in range(10):
        if 'activitystream-toggle' in focused(page):
            break
        page.keyboard.press('Tab')
    assert 'activitystream-toggle' in focused(page)
    with opening(page):
        page.keyboard.press('Enter')
    page.locator('nav .activitystream-panel').wait_for(state='visible')
    page.wait_for_function('() => document.querySelector("nav .activitystream-badge").hidden')


def save(page, name, tmp_path):
    path = SCREENSHOTS[name] if os.environ.get('ACTIVITYSTREAM_WRITE_SCREENSHOT') else None
    page.screenshot(path=str(path or tmp_path / f'{name}.png'))


@pytest.mark.parametrize('scheme', ['light', 'dark'])
def test_keyboard_only_use_and_axe(site, chromium, axe_source, scheme, tmp_path):
    """carol's menu, at 1280 px: Tab, Enter, arrows, Escape; axe finds nothing serious."""
    carol = log_in(chromium, site, 'carol', width=1280, height=800, scheme=scheme)
    carol.goto(f'{site}/')
    toggle = carol.locator('nav .activitystream-toggle')
    assert toggle.get_attribute('aria-controls') == carol.locator(
        'nav .activitystream-panel'
    ).get_attribute('id')
    open_by_keyboard(carol)
    assert menu_open(carol)
    rows = carol.locator('nav .activitystream-item')
    grouped = carol.locator('nav .activitystream-item[data-ids*=","]')
    assert grouped.count() >= 1  # the tea party's comments, one row
    assert ' and ' in grouped.first.locator('b').inner_text()

    carol.keyboard.press('ArrowDown')
    assert 'activitystream-mark-all' in focused(carol)
    carol.keyboard.press('ArrowDown')
    first_link = focused(carol)
    assert 'activitystream-link' in first_link
    carol.keyboard.press('ArrowDown')
    assert focused(carol) != first_link and 'activitystream-link' in focused(carol)
    carol.keyboard.press('End')
    assert 'activitystream-all' in focused(carol)
    carol.keyboard.press('ArrowDown')  # wraps round
    assert 'activitystream-mark-all' in focused(carol)
    outline = carol.evaluate('() => getComputedStyle(document.activeElement).outlineStyle')
    assert outline != 'none'  # focus is visible
    carol.keyboard.press('Escape')
    assert not menu_open(carol) and 'activitystream-toggle' in focused(carol)
    assert carol.locator('nav .activitystream-panel').is_hidden()

    with opening(carol):  # axe reads the rows the reload leaves, not ones it replaces
        carol.keyboard.press('Enter')
    carol.locator('nav .activitystream-panel').wait_for(state='visible')
    assert rows.count() >= 3
    background = carol.evaluate(
        """() => getComputedStyle(document.querySelector('nav .activitystream-panel'))
                 .backgroundColor"""
    )
    assert background == ('rgb(22, 27, 34)' if scheme == 'dark' else 'rgb(255, 255, 255)')
    assert axe_violations(carol, axe_source, '.activitystream-menu') == []
    save(carol, scheme, tmp_path)

    carol.mouse.click(5, 400)  # outside: it closes
    assert not menu_open(carol)
    carol.context.close()


def test_the_menu_fits_a_phone(site, chromium, axe_source, tmp_path):
    """390 px wide: the panel is a sheet under the navbar, the width of the window."""
    carol = log_in(chromium, site, 'carol', width=390, height=760)
    carol.goto(f'{site}/')
    with opening(carol):  # the reload replaces the rows: measure the ones it leaves
        carol.click('nav .activitystream-toggle')
    panel = carol.locator('nav .activitystream-panel')
    panel.wait_for(state='visible')
    box = panel.bounding_box()
    nav = carol.locator('nav').bounding_box()
    assert box['x'] >= 0 and box['x'] + box['width'] <= 390
    assert box['width'] >= 380
    assert abs(box['y'] - (nav['y'] + nav['height'])) <= 2
    row = carol.locator('nav .activitystream-item').first.bounding_box()
    assert row['x'] >= 0 and row['x'] + row['width'] <= 390  # no row cut
    assert axe_violations(carol, axe_source, '.activitystream-menu') == []
    save(carol, 'mobile', tmp_path)
    carol.context.close()


def counts(page, site):
    return page.evaluate(
        "url => fetch(url, {credentials: 'same-origin'}).then(r => r.json())",
        f'{site}/activitystream/',
    )


def test_open_a_group_dismiss_and_mark_all(site, chromium):
    """bob: a grouped row opens its post and reads all its members; x dismisses; mark all."""
    bob = log_in(chromium, site, 'bob')
    bob.goto(f'{site}/')
    unread = counts(bob, site)['unread_count']
    with opening(bob):
        bob.click('nav .activitystream-toggle')
    grouped = bob.locator('nav .activitystream-item[data-ids*=","]').first
    grouped.wait_for()
    members = len(grouped.get_attribute('data-ids').split(','))
    with bob.expect_navigation():
        grouped.locator('.activitystream-link').click()
    assert '/posts/' in bob.url
    assert counts(bob, site)['unread_count'] == unread - members

    with opening(bob):
        bob.click('nav .activitystream-toggle')
    rows = bob.locator('nav .activitystream-item')
    rows.first.wait_for()
    before = rows.count()
    gone = rows.first.get_attribute('data-ids')
    rows.first.locator('.activitystream-dismiss').click()
    bob.wait_for_function(
        'n => document.querySelectorAll("nav .activitystream-item").length === n', arg=before - 1
    )
    assert 'activitystream-link' in focused(bob)  # focus moved to the next row
    bob.reload()
    assert bob.locator(f'nav .activitystream-item[data-ids="{gone}"]').count() == 0

    with opening(bob):
        bob.click('nav .activitystream-toggle')
    bob.locator('nav .activitystream-mark-all').click()
    bob.wait_for_function(
        '() => !document.querySelector("nav .activitystream-unseen, nav .activitystream-unread")'
    )
    assert counts(bob, site)['unread_count'] == 0
    bob.context.close()


@pytest.mark.parametrize('scheme', ['light', 'dark'])
def test_see_all_pages_back_in_time(site, chromium, axe_source, scheme):
    carol = log_in(chromium, site, 'carol', scheme=scheme)
    carol.goto(f'{site}/')
    carol.click('nav .activitystream-toggle')
    with carol.expect_navigation():
        carol.click('nav .activitystream-all')
    assert carol.url.startswith(f'{site}/activitystream/all')
    total = len(carol.locator('.activitystream-item').all())
    carol.goto(f'{site}/activitystream/all?limit=2')
    shown = []
    for _ in range(20):
        shown += carol.locator('.activitystream-item').evaluate_all(
            'rows => rows.map(r => r.dataset.ids)'
        )
        assert axe_violations(carol, axe_source, 'body') == []
        older = carol.locator('a.activitystream-older')
        if older.count() == 0:
            break
        with carol.expect_navigation():
            older.click()
    ids = [i for row in shown for i in row.split(',')]
    assert len(ids) == len(set(ids)) and len(shown) >= total  # nothing twice, nothing skipped
    assert json.loads(json.dumps(shown))
    carol.context.close()

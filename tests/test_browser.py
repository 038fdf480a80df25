"""The sample app in a real headless Chromium: the live badge and the menu, end to end.

The site is served by ``gearbox serve`` in its own process on 127.0.0.1 (the
demo data of ``gearbox setup-app``), so what the browser sees crosses real HTTP,
real server-sent events through Redis, and the real login form.
"""

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


def log_in(browser, site, user_name):
    context = browser.new_context(viewport={'width': 1100, 'height': 700})
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
        first.locator('button').click()
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


def test_the_grouped_menu_shows_two_commenters_in_one_row_and_opening_clears_its_badge(
    site, chromium
):
    erin = log_in(chromium, site, 'erin')
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

    row = erin.locator('#grouped-menu li.group', has_text='Picnic on Sunday')
    deadline = time.monotonic() + 20
    while True:  # the delivery thread writes the feed a moment after each comment
        erin.goto(f'{site}/')
        if row.count() and 'Alice' in row.text_content():
            break
        menu = erin.locator('#grouped-menu').text_content()
        assert time.monotonic() < deadline, f'no row of both commenters in {menu!r}'
        time.sleep(0.2)
    assert row.count() == 1
    text = ' '.join(row.locator('a').text_content().split())
    assert text == 'Dave Bowman and Alice Liddell commented on “Picnic on Sunday”'
    assert 'unseen' in row.get_attribute('class')
    unseen_rows = erin.locator('#grouped-menu li.group.unseen').count()
    grouped_badge = erin.locator('#grouped-badge')
    assert int(grouped_badge.text_content()) == unseen_rows >= 1

    erin.click('#grouped-menu summary')
    erin.wait_for_function('() => document.getElementById("grouped-badge").textContent === "0"')
    erin.goto(f'{site}/')
    assert grouped_badge.text_content() == '0'
    assert 'unseen' not in row.get_attribute('class')
    erin.context.close()

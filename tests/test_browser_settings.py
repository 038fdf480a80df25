"""The sample app's notification settings in a real headless Chromium, by keyboard alone.

The server, the browser, the login and axe-core come from test_browser.py.
"""

import pytest

from .test_browser import axe_source, axe_violations, chromium, log_in, site  # noqa: F401

pytestmark = pytest.mark.browser


def focused(page) -> str:
    """The focused element: a field's name, else its text."""
    return page.evaluate(
        '() => document.activeElement.name || document.activeElement.textContent.trim()'
    )


def tab_to(page, wanted: str, presses: int = 60) -> None:
    """Press Tab until ``wanted`` (a name or a text) has the focus."""
    for _ in range(presses):
        page.keyboard.press('Tab')
        if focused(page) == wanted:
            return
    raise AssertionError(f'{wanted!r} never got the focus; last: {focused(page)!r}')


def checked(page, name: str) -> bool:
    return page.locator(f'input[name="{name}"]').is_checked()


def test_keyboard_only_settings_with_the_saved_notice_announced(site, chromium, axe_source):  # noqa: F811
    """dave: Tab to Settings, Enter; Tab to the checkboxes, Space; Tab to Save, Enter."""
    dave = log_in(chromium, site, 'dave')
    dave.goto(f'{site}/')
    tab_to(dave, 'Settings')
    with dave.expect_navigation():
        dave.keyboard.press('Enter')
    assert dave.url == f'{site}/settings'
    assert axe_violations(dave, axe_source, 'main') == []
    assert checked(dave, 'commented on:email') and not checked(dave, 'commented on:digest')

    tab_to(dave, 'commented on:email')
    outline = dave.evaluate('() => getComputedStyle(document.activeElement).outlineStyle')
    assert outline != 'none'  # the focus is visible
    dave.keyboard.press('Space')
    tab_to(dave, 'commented on:digest')
    dave.keyboard.press('Space')
    assert not checked(dave, 'commented on:email') and checked(dave, 'commented on:digest')
    notice = dave.locator('main').get_by_role('status')  # the navbar has live regions too
    assert notice.count() == 0  # nothing saved yet
    tab_to(dave, 'Save')
    with dave.expect_navigation():
        dave.keyboard.press('Enter')

    assert dave.url == f'{site}/settings?saved=1'
    assert notice.inner_text() == 'Your choices were saved.'  # a live region: read out
    assert not checked(dave, 'commented on:email') and checked(dave, 'commented on:digest')
    assert axe_violations(dave, axe_source, 'main') == []
    dave.context.close()

"""How entities are shown: never by their ``repr``, on every backend.

A stock ``gearbox quickstart`` User has no ``as_str`` and only a ``__repr__``
(on Ming, Ming's own: every field, the password hash included). It must show
by its name in the menu, the JSON and the feeds, never with its e-mail.
"""

import feedparser
import pytest
from bs4 import BeautifulSoup

from activitystream import am, refs

PASSWORD = 'pbkdf2-0123456789abcdef'  # what a quickstart stores: a hash, never to be shown
SECRETS = ('somedomain', PASSWORD, '<User', 'name=', 'object at 0x', 'email')


def quickstart_user(env, user_name, display_name=None):
    return env.add(
        env.model.QuickstartUser(
            user_name=user_name,
            email_address=f'{user_name}@somedomain.com',
            display_name=display_name,
            password=PASSWORD,
        )
    )


@pytest.fixture
def quickstart(env):
    """bob (a host user) is told that the quickstart manager greeted the editor, with a
    nameless member; the manager also broadcast, for the public streams."""
    manager = quickstart_user(env, 'manager', 'Manager')
    editor = quickstart_user(env, 'editor')
    member = env.member(None)
    bob = env.user('bob')
    am.create(manager, 'greeted', target=editor, action_obj=member, recipients=[bob])
    am.create(manager, 'announced', target=editor)
    env.commit()
    return env, manager, bob, refs.ref_of(member, 'member')


def assert_no_repr(body):
    text = body if isinstance(body, str) else body.decode('utf-8')
    for secret in SECRETS:
        assert secret not in text, secret


def test_the_notifications_json_shows_names(quickstart):
    env, manager, bob, member = quickstart
    reply = env.app.get('/activitystream/notifications.json', extra_environ=env.login(bob))
    greeted = reply.json['items'][-1]
    assert (greeted['actor'], greeted['target']) == ('Manager', 'editor')
    assert greeted['object'] == f'Member #{member.id}'
    assert_no_repr(reply.body)


def test_the_menu_and_the_widget_show_names(quickstart):
    env, manager, bob, member = quickstart
    page = env.app.get('/menu', extra_environ=env.login(bob)).text
    assert '<b>Manager</b>' in page and 'editor' in page
    assert f'Member #{member.id}' in page  # the widget shows the object
    # what the page shows and holds, not its markup (whose form fields have name="...")
    html = BeautifulSoup(page, 'html.parser')
    values = [v for tag in html.find_all(True) for v in tag.attrs.values()]
    assert_no_repr(html.get_text() + ' '.join(map(str, values)))


def test_the_feeds_show_names(quickstart):
    env, manager, bob, member = quickstart
    mine = env.app.get('/activitystream/feed.atom', extra_environ=env.login(bob)).body
    feed = feedparser.parse(mine)
    assert [e.title for e in feed.entries] == [
        'Manager announced editor',
        f'Manager greeted Member #{member.id} editor',
    ]
    assert {e.author for e in feed.entries} == {'Manager'}
    ref = refs.ref_of(manager, 'manager')
    public = env.app.get(f'/activitystream/feed.atom?actor_type={ref.type}&actor_id={ref.id}')
    assert 'Manager announced editor' in [e.title for e in feedparser.parse(public.body).entries]
    stream = env.app.get(f'/activitystream/as2/actor/{ref.type}/{ref.id}')
    announced = stream.json['orderedItems'][0]
    assert announced['actor']['name'] == 'Manager' and announced['target']['name'] == 'editor'
    inbox = env.app.get('/activitystream/as2/inbox', extra_environ=env.login(bob))
    assert inbox.json['orderedItems'][-1]['object']['name'] == f'Member #{member.id}'
    for body in (mine, public.body, stream.body, inbox.body):
        assert_no_repr(body)


def test_the_fallback_order_on_host_entities(env):
    named, nameless = env.member('Named'), env.member(None)
    env.commit()
    assert refs.display(env.document('Spec')) == 'Spec'  # as_str
    assert refs.display(env.team('ops')) == 'team ops'  # a __str__ of the host's own
    assert refs.display(quickstart_user(env, 'root', 'Root')) == 'Root'  # display_name
    assert refs.display(quickstart_user(env, 'editor')) == 'editor'  # then user_name
    assert refs.display(named) == 'Named'  # then name
    assert refs.display(nameless) == f'Member #{refs.ref_of(nameless, "m").id}'


class Plain:
    """Not mapped: shown by its attributes, else by its class name alone."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)


@pytest.mark.parametrize(
    'attributes, shown',
    [
        (dict(as_str='As str', display_name='D', user_name='u', name='n', title='t'), 'As str'),
        (dict(as_str=lambda: 'called'), 'called'),
        (dict(display_name='', user_name='u', name='n'), 'u'),  # the first non-empty one
        (dict(display_name=None, user_name=None, name='n', title='t'), 'n'),
        (dict(name='', title='t'), 't'),
        (dict(title=3), 'Plain'),  # not text: not shown
        (dict(), 'Plain'),
    ],
)
def test_the_fallback_order(attributes, shown):
    assert refs.display(Plain(**attributes)) == shown

"""POST subscribe / unsubscribe and the subscription_toggle partial, on every backend."""

import pytest
from bs4 import BeautifulSoup
from tg import TGController, expose

from activitystream import csrf, model, partials, refs, subscriptions
from activitystream.storage.base import Ref
from hosts.controllers.root import RootController

from .harness import BACKENDS, environment

SUBSCRIBE, UNSUBSCRIBE = '/activitystream/subscribe', '/activitystream/unsubscribe'


class TogglePage(TGController):
    """A host page showing the toggle of the entity named by ``type``/``id``."""

    @expose()
    def index(self, type, id, subscribed=None):
        [obj] = refs.resolve(model.storage(), [Ref(type, id)]).values()
        known = None if subscribed is None else subscribed == 'yes'
        return partials.subscription_toggle(obj, subscribed=known)


@pytest.fixture(params=[(b, r) for b in BACKENDS for r in ('kajiki', 'genshi')])
def page_env(request, monkeypatch):
    monkeypatch.setattr(RootController, 'toggle', TogglePage(), raising=False)
    return environment(*request.param)


def fields(env, user, **extra):
    return dict({csrf.FIELD: csrf.token_for(user)}, **extra)


def named(obj):
    ref = refs.ref_of(obj, 'obj')
    return {'type': ref.type, 'id': ref.id}


def test_subscribe_and_unsubscribe(env):
    bob, doc = env.user('bob'), env.document('Plan')
    env.commit()
    login = env.login(bob)
    reply = env.app.post(SUBSCRIBE, fields(env, bob, **named(doc)), extra_environ=login)
    assert reply.json == {'subscribed': True, 'changed': True, 'subscribers': 1}
    again = env.app.post(SUBSCRIBE, fields(env, bob, **named(doc)), extra_environ=login)
    assert again.json == {'subscribed': True, 'changed': False, 'subscribers': 1}
    assert subscriptions.is_subscribed(bob, doc)
    reply = env.app.post(UNSUBSCRIBE, fields(env, bob, **named(doc)), extra_environ=login)
    assert reply.json == {'subscribed': False, 'changed': True, 'subscribers': 0}
    again = env.app.post(UNSUBSCRIBE, fields(env, bob, **named(doc)), extra_environ=login)
    assert again.json == {'subscribed': False, 'changed': False, 'subscribers': 0}


def test_following_a_user_with_the_token_in_a_header(env):
    bob, alice = env.user('bob'), env.user('alice')
    env.commit()
    env.app.post(
        SUBSCRIBE,
        named(alice),
        headers={csrf.HEADER: csrf.token_for(bob)},
        extra_environ=env.login(bob),
    )
    assert [u.user_name for u in subscriptions.subscribers_of(alice)] == ['bob']


def test_came_from_redirects_back_to_the_page(env):
    bob, team = env.user('bob'), env.team('ops')
    env.commit()
    reply = env.app.post(
        SUBSCRIBE,
        fields(env, bob, came_from='/teams/ops?tab=1', **named(team)),
        extra_environ=env.login(bob),
        status=303,
    )
    assert reply.location.endswith('/teams/ops?tab=1')
    assert subscriptions.is_subscribed(bob, team)


@pytest.mark.parametrize('url', [SUBSCRIBE, UNSUBSCRIBE])
def test_anonymous_get_and_missing_token(env, url):
    bob, doc = env.user('bob'), env.document('Plan')
    env.commit()
    env.app.post(url, named(doc), status=401)
    assert env.app.get(url, params=named(doc), extra_environ=env.login(bob), status=405).json
    reply = env.app.post(url, named(doc), extra_environ=env.login(bob), status=403)
    assert reply.json['detail'] == 'missing or invalid CSRF token'
    other = fields(env, env.user('carol'), **named(doc))  # carol's token is not bob's
    env.app.post(url, other, extra_environ=env.login(bob), status=403)
    assert subscriptions.subscriptions_of(bob).count() == 0


@pytest.mark.parametrize(
    'params, status, words',
    [
        ({}, 400, 'type must be an entity class name'),
        ({'type': 'Document'}, 400, 'id must be an entity id'),
        ({'type': 'no such', 'id': '1'}, 400, 'type must be an entity class name'),
        ({'type': 'Document', 'id': 'x' * 129}, 400, 'id must be an entity id'),
        ({'type': 'Nothing', 'id': '1'}, 404, 'there is no Nothing 1'),
        ({'type': 'DBSession', 'id': '1'}, 404, 'there is no DBSession 1'),
        ({'type': 'metadata', 'id': '1'}, 404, 'there is no metadata 1'),
        ({'type': 'User', 'id': 'not-a-key'}, 404, 'there is no User not-a-key'),
        ({'type': 'User', 'id': '99999999999999999999999'}, 404, 'there is no User'),
        ({'type': 'Document', 'id': 'not-a-uuid'}, 404, 'there is no Document'),
        ({'type': 'Team', 'id': 'nobody'}, 404, 'there is no Team nobody'),
        ({'type': 'Team', 'id': 'ops', 'came_from': '//evil.example/'}, 400, 'came_from must'),
        ({'type': 'Team', 'id': 'ops', 'came_from': 'https://evil.example/'}, 400, 'came_from'),
    ],
)
def test_bad_requests_get_4xx_with_json_and_change_nothing(env, params, status, words):
    bob = env.user('bob')
    env.team('ops')
    env.commit()
    for url in (SUBSCRIBE, UNSUBSCRIBE):
        reply = env.app.post(
            url, fields(env, bob, **params), extra_environ=env.login(bob), status=status
        )
        assert words in reply.json['detail']
    assert subscriptions.subscriptions_of(bob).count() == 0


def test_the_toggle_partial(page_env):
    env = page_env
    bob, doc = env.user('bob'), env.document('Plan & <co>')
    env.commit()
    page = env.app.get('/toggle', params=named(doc), extra_environ=env.login(bob))
    form = BeautifulSoup(page.text, 'html.parser').select_one('form.activitystream-subscription')
    assert form['method'] == 'post' and form['action'] == SUBSCRIBE
    assert 'activitystream-subscribed' not in form['class']
    values = {i['name']: i['value'] for i in form.select('input')}
    assert values['type'] == 'Document' and values['id'] == named(doc)['id']
    assert values['came_from'].startswith('/toggle?type=Document')
    assert csrf.is_valid(bob, values[csrf.FIELD])
    assert form.button.get_text() == 'Subscribe'

    # submitting the form, as a browser would, subscribes and comes back
    back = env.app.post(form['action'], values, extra_environ=env.login(bob), status=303)
    assert back.location.endswith(values['came_from'])
    page = env.app.get('/toggle', params=named(doc), extra_environ=env.login(bob))
    form = BeautifulSoup(page.text, 'html.parser').select_one('form.activitystream-subscription')
    assert form['action'] == UNSUBSCRIBE and 'activitystream-subscribed' in form['class']
    assert form.button.get_text() == 'Unsubscribe'


def test_the_toggle_takes_a_known_state_without_a_query(page_env):
    env = page_env
    bob, doc = env.user('bob'), env.document('Plan')
    env.commit()
    with env.count_queries() as queries:
        page = env.app.get(
            '/toggle', params=dict(named(doc), subscribed='yes'), extra_environ=env.login(bob)
        )
    assert UNSUBSCRIBE in page.text
    with env.count_queries() as more:
        env.app.get('/toggle', params=named(doc), extra_environ=env.login(bob))
    assert len(more) == len(queries) + 1  # the is_subscribed query


def test_anonymous_visitors_get_no_toggle(page_env):
    env = page_env
    doc = env.document('Plan')
    env.commit()
    assert env.app.get('/toggle', params=named(doc)).text == ''

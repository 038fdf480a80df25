"""The 0.1.1 README's own code, run as written (on a recipient with last_activity_seen)."""

from datetime import datetime

from activitystream import am as shared_am


def first_members(env):
    if hasattr(env.model.Member, 'query') and not hasattr(env.model.Member, '__tablename__'):
        return env.model.Member.query.find().all()  # the README's Ming line
    return env.model.DBSession.query(env.model.Member).all()


def test_the_readme_code(env):
    from activitystream import ActionManager

    am = ActionManager()
    env.member('first', last_activity_seen=datetime.utcnow())
    env.member('second', last_activity_seen=datetime(2000, 1, 1))
    actor = env.user('alice', 'Alice')
    doc = env.document('The post')
    recipient = first_members(env)[1]
    activity = am.create(
        actor,
        'commented',
        target=doc,
        description='a comment',
        extra='{"comment_id": 3}',
        recipients=[recipient],
    )
    assert activity.recipients == [recipient]

    actions = am.get_by_recipient(recipient).limit(10).all()
    count = am.count_not_seen_by_recipient(recipient)
    not_seen = actions[0].timestamp > recipient.last_activity_seen
    assert [a.id for a in actions] == [activity.id]
    assert count == 1 and not_seen

    recipient.last_activity_seen = datetime.utcnow()
    env.commit()
    assert am.count_not_seen_by_recipient(recipient) == 0
    assert shared_am.count_not_seen_by_recipient(recipient) == 0  # `am` is the same API


def test_the_readme_rendering_recipe(env):
    """h.plug_url to /see, one cached template per notification keyed on n._id."""
    alice, bob = env.user('alice', 'Alice'), env.user('bob')
    doc = env.document('The post')
    am = shared_am
    am.create(alice, 'commented', target=doc, recipients=[bob])
    env.commit()
    page = env.app.get('/seed_notifications', extra_environ=env.login(bob))
    link = page.html.select_one('#notifications a.notification')
    assert link['href'] == '/activitystream/see?target_link=%2Fdocuments%2FThe+post'
    assert ' '.join(link.get_text().split()) == 'Alice commented The post'

"""The floors' hand render (``bench/floor_render.py``) gives the menu's rows field for field.

The bench's dataset has no two consecutive notifications about one target,
so its agreement check never sees a grouped row: here runs of two, three and
five actors, a deleted actor and a row without a target are read through the
API and rendered both ways. The hand render is pure Python over tuples, so
one backend (SQLite) reads the page.
"""

from datetime import datetime, timedelta

from activitystream import am, grouping
from bench import floor_render

from .harness import environment


def test_the_hand_render_gives_the_menus_rows_for_grouped_runs():
    env = environment('sqlite')
    model = env.model
    reader = env.user('reader')
    people = [env.user(f'u{i}', display_name=f'User {i}' if i % 2 else None) for i in range(6)]
    posts = [env.add(model.Post(slug=f'p{i}', title=f'Post {i}', author_id=1)) for i in range(4)]
    now = datetime.utcnow()
    story = [  # oldest first: (actor, verb, target, minutes ago)
        (people[0], 'liked', posts[3], 3000),  # older than a day before the next: alone
        (people[1], 'liked', posts[3], 90),
        (people[0], 'liked', posts[3], 85),
        (people[2], 'liked', posts[3], 80),
        (people[3], 'posted', None, 70),
        (people[0], 'commented', posts[0], 60),
        (people[1], 'commented', posts[0], 50),
        (people[2], 'commented', posts[0], 40),
        (people[3], 'commented', posts[0], 30),
        (people[4], 'commented', posts[0], 20),
        (people[5], 'commented', posts[1], 10),
        (people[5], 'commented', posts[1], 5),  # the same actor twice: named once
    ]
    for actor, verb, target, ago in story:
        when = now - timedelta(minutes=ago)
        am.create(actor, verb, target=target, recipients=[reader], timestamp=when)
    env.delete(people[4])  # its notification stays; its name is 'someone'
    env.commit()

    actions = am.get_by_recipient(reader).limit(20).all()
    ours = grouping.as_rows(grouping.group(actions, grouping.DEFAULT_WINDOW, lambda a: False))
    page = [
        (
            a.id,
            a.timestamp,
            int(a.actor_ref.id),
            a.verb,
            None if a.target_ref is None else int(a.target_ref.id),
        )
        for a in actions
    ]
    users = {u.user_id: (u.user_name, u.display_name) for u in [reader, *people[:4], people[5]]}
    by_id = {p.post_id: (p.slug, p.title) for p in posts}
    theirs = floor_render.rows(page, users, by_id, datetime.utcnow())
    for row in ours:
        row['read'] = None  # the menu's rows leave it out, as the floors' do
    assert theirs == ours
    assert [(r['count'], r['who']) for r in ours] == [
        (2, 'User 5'),
        (5, 'someone, User 3 and 3 others'),  # the newest first
        (1, 'User 3'),
        (3, 'u2, u0 and User 1'),
        (1, 'u0'),
    ]

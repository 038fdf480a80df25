"""Demo users, follows, posts and comments spread over the last four days.

Run by ``gearbox setup-app`` (websetup/bootstrap.py). Everything goes through
:mod:`sampleapp.lib.social`, so the notifications and the subscriptions to
posts are the ones the site itself would have made; only the e-mails are
left out (history is not news, and a demo may have no SMTP server).
"""

from datetime import timedelta

from activitystream import am

from . import model
from .lib import social
from .model.common import utcnow

PASSWORD = 'demo'
MAIL_DOMAIN = 'example.org'
NOTIFY_BY = ['activitystream']  # the history is told in the menu, not mailed
USERS = {
    'alice': 'Alice Liddell',
    'bob': 'Bob Cratchit',
    'carol': 'Carol Danvers',
    'dave': 'Dave Bowman',
    'erin': 'Erin Brockovich',
}
# (hours ago, who, what, ...): ('follow', whom) | ('post', key, text) | ('comment', post key, text)
# Everyone follows two or three others, so every home timeline has a story to tell. The
# browser tests follow from bob to erin, dave to alice and carol to dave: keep those out.
STORY = [
    (99, 'alice', 'follow', 'carol'),
    (99, 'carol', 'follow', 'bob'),
    (99, 'dave', 'follow', 'carol'),
    (99, 'erin', 'follow', 'bob'),
    (98, 'bob', 'follow', 'alice'),
    (97, 'carol', 'follow', 'alice'),
    (96, 'alice', 'post', 'hello', 'Hello everybody! This is my first post here.'),
    (95, 'bob', 'comment', 'hello', 'Welcome, Alice!'),
    (90, 'dave', 'follow', 'bob'),
    (80, 'alice', 'follow', 'bob'),
    (72, 'bob', 'post', 'soup', 'Made soup for the whole office. There is plenty left.'),
    (71, 'dave', 'comment', 'soup', 'Saving me a bowl? I will be there in ten minutes.'),
    (70, 'alice', 'comment', 'soup', 'Is it the <b>famous</b> pea soup? Asking for a friend.'),
    (50, 'erin', 'follow', 'carol'),
    (49, 'carol', 'post', 'flight', 'Back from a very long flight. What did I miss?'),
    (48, 'erin', 'comment', 'flight', 'Only the soup, apparently.'),
    (30, 'erin', 'follow', 'alice'),
    (20, 'dave', 'post', 'pods', 'Open the pod bay doors, please.'),
    (12, 'alice', 'post', 'tea', 'Tea party at four tomorrow, everyone is invited.'),
    (11, 'carol', 'comment', 'tea', 'I will bring the cake.'),
    (10, 'bob', 'comment', 'tea', 'Count me in!'),
    (9, 'erin', 'comment', 'hello', 'Late to the party: hi Alice!'),
    (5, 'alice', 'comment', 'tea', 'Lovely, see you all there.'),
    (3, 'bob', 'follow', 'carol'),
    (1, 'dave', 'comment', 'tea', 'I am afraid I can not do that.'),
]
SEEN_HOURS_AGO = 24  # everyone last opened their notifications a day ago


def seed(now=None):
    """Create the demo data, unless the database already has users; print the logins."""
    if model.all_users():
        print('The database already has users: demo data not added.')
        return
    now = now or utcnow()
    users = {}
    for name, display_name in USERS.items():
        users[name] = model.User(
            user_name=name, display_name=display_name, email_address=f'{name}@{MAIL_DOMAIN}'
        )
        users[name].set_password(PASSWORD)
        model.save(users[name])
    posts = {}
    for hours, who, what, *args in STORY:
        when = now - timedelta(hours=hours)
        if what == 'follow':
            social.follow(users[who], users[args[0]], when)
        elif what == 'post':
            posts[args[0]] = social.publish(users[who], args[1], when)
        else:
            social.comment(users[who], posts[args[0]], args[1], when, backends=NOTIFY_BY)
    for user in users.values():
        am.mark_seen(user, until=now - timedelta(hours=SEEN_HOURS_AGO))
    print(f'Demo users: {", ".join(USERS)} (password for all: {PASSWORD})')

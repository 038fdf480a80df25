"""The floors' render: R's rows from a page of tuples and its host rows, by hand.

R asks what ``notifications_menu`` shows: the newest ten notifications,
grouped, as rows of text (who, verb, target, link, avatar, times, cursor).
The floors read the page and its users and posts as tuples (``floor.py``,
``strict.py``); this module turns them into the same rows as a hand-written
site would for exactly the bench's data and hosts (every actor a user, every
target a post, English): no entity objects, no translation catalogs, names and
links formatted inline. ``Bench.agreement`` checks that these rows are ours,
field for field, so both sides answer the same question.
"""

import base64
from datetime import datetime, timedelta

WINDOW = timedelta(days=1)  # the menu's default group window
# (unit, seconds): the unit is the largest one worth at least 0.85 of the time passed
UNITS = (
    ('year', 31_536_000), ('month', 2_592_000), ('week', 604_800), ('day', 86_400),
    ('hour', 3_600), ('minute', 60), ('second', 1),
)  # fmt: skip


def since(when: datetime, now: datetime) -> str:
    """'3 hours ago' (a time ahead of ``now`` is a second ago)."""
    seconds = max((now - when).total_seconds(), 1)
    for unit, size in UNITS:
        if seconds / size >= 0.85 or size == 1:
            count = max(1, round(seconds / size))
            return f'{count} {unit} ago' if count == 1 else f'{count} {unit}s ago'
    raise AssertionError('the second always matches')


def who(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    if len(names) <= 3:
        return f'{", ".join(names[:-1])} and {names[-1]}'
    return f'{names[0]}, {names[1]} and {len(names) - 2} others'  # two others at least


def rows(page, users, posts, now):
    """The menu's rows of ``page``: (id, naive UTC time, actor id, verb, target id or None)
    newest first; ``users``: {id: (user name, display name)}; ``posts``: {id: (slug, title)}.
    """

    def name(user_id):
        user = users.get(user_id)
        return 'someone' if user is None else user[1] or user[0]

    found, run = [], []
    for item in page:
        first = run[0] if run else None
        if (
            first is not None
            and item[4] is not None
            and (item[3], item[4]) == (first[3], first[4])
            and first[1] - item[1] <= WINDOW
        ):
            run.append(item)
            continue
        if run:
            found.append(_row(run, name, users, posts, now))
        run = [item]
    if run:
        found.append(_row(run, name, users, posts, now))
    return found


def _row(run, name, users, posts, now):
    first, last = run[0], run[-1]
    actors = list(dict.fromkeys(item[2] for item in run))
    post = posts.get(first[4])
    user = users.get(first[2])
    stamp = first[1].isoformat(timespec='milliseconds')
    last_stamp = last[1].isoformat(timespec='milliseconds')
    cursor = base64.urlsafe_b64encode(f'{last_stamp}/{last[0]}'.encode()).decode()
    return {
        'ids': [str(item[0]) for item in run],
        'count': len(run),
        'who': who([name(a) for a in actors]),
        'verb': first[3],
        'target': None if post is None else post[1],
        'link': None if post is None else f'/posts/{post[0]}',
        'avatar': None if user is None else f'/avatars/{user[0]}.png',
        'timestamp': stamp + 'Z',
        'since': since(first[1], now),
        'unseen': False,
        'read': None,
        'cursor': cursor.rstrip('='),
    }

"""Notifications as the menu shows them: runs of the same verb on the same target, one row each.

Grouping works on a page already read (``am.get_by_recipient(...).limit(n)``),
so it adds no query: the actors and targets of the whole page load together,
in one query, as for the ungrouped page. A run is consecutive notifications
(newest first) with the same verb and the same target, none older than
``window`` before the run's newest; notifications without a target are never
grouped. ``window`` is the plug option ``group_window`` (a timedelta;
zero turns grouping off).

The counts in a row are exact for the notifications it holds; a run longer
than the page read is cut where the page ends (the next page goes on from the
oldest notification shown, so nothing is skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import refs
from .action import Action
from .formats import iso
from .timeutil import since_function, utcnow
from .translation import _, babel_locale, ngettext

if TYPE_CHECKING:
    from babel import Locale

# actors named in a row before "and N others"
NAMED = 2
DEFAULT_WINDOW = timedelta(days=1)


@dataclass
class Group:
    """One row: its notifications newest first, all with the same verb and target."""

    members: list[Action]
    unseen: bool

    @property
    def newest(self) -> Action:
        return self.members[0]

    @property
    def oldest(self) -> Action:
        return self.members[-1]

    @property
    def ids(self) -> list[str]:
        return [str(a.id) for a in self.members]

    @property
    def timestamp(self) -> datetime:
        return self.newest.timestamp

    @property
    def actors(self) -> list[Any]:
        """The distinct actor entities (None for deleted ones), newest first."""
        return [action.actor_entity for action in self._by_actor()]

    def _by_actor(self) -> list[Action]:
        """The newest member of each distinct actor, newest first."""
        seen, found = set(), []
        for action in self.members:
            if action.actor_ref not in seen:
                seen.add(action.actor_ref)
                found.append(action)
        return found

    @property
    def read(self) -> bool | None:
        """Whether every member is read (None outside ``get_by_recipient``)."""
        states = [a.read for a in self.members]
        return None if None in states else all(states)

    @property
    def who(self) -> str:
        """'Alice', 'Alice and Bob', 'Alice, Bob and Carol', 'Alice, Bob and 3 others'."""
        names = [refs.display(a.actor_shown) or _('someone') for a in self._by_actor()]
        return who(names, len(names))

    @property
    def avatar_url(self) -> str | None:
        """The newest actor's ``as_avatar_url`` (attribute or method), when its class has one."""
        return avatar_url(self.newest.actor_shown)


def who(names: list[str], count: int) -> str:
    """How a row names ``count`` actors, the newest first in ``names`` (as many as are known)."""
    if count == 1 and names:
        return names[0]
    if count <= NAMED + 1 and len(names) >= count:
        return _('%(names)s and %(last)s') % {
            'names': ', '.join(names[: count - 1]),
            'last': names[count - 1],
        }
    named = names[:NAMED]
    others = count - len(named)
    return ngettext('%(names)s and %(num)d other', '%(names)s and %(num)d others', others) % {
        'names': ', '.join(named),
        'num': others,
    }


def avatar_url(entity: Any) -> str | None:
    """An entity's optional ``as_avatar_url`` (a property or a method), else None."""
    return refs.hook(entity, 'as_avatar_url')


def _window(window: Any) -> timedelta:
    if isinstance(window, (int, float)) and not isinstance(window, bool):
        window = timedelta(days=window)
    if not isinstance(window, timedelta) or window < timedelta(0):
        raise ValueError(f'window must be a non-negative timedelta, got {window!r}')
    return window


def group(
    actions: Sequence[Action],
    window: timedelta | float,
    is_unseen: Callable[[Action], bool],
) -> list[Group]:
    """``actions`` (newest first) as rows; ``window`` 0 gives one row per notification."""
    window = _window(window)
    rows: list[Group] = []
    for action in actions:
        last = rows[-1] if rows else None
        if (
            last is not None
            and window
            and action.target_ref is not None
            and action.target_ref == last.newest.target_ref
            and action.verb == last.newest.verb
            and last.timestamp - action.timestamp <= window
        ):
            last.members.append(action)
            last.unseen = last.unseen or is_unseen(action)
        else:
            rows.append(Group([action], is_unseen(action)))
    return rows


def as_rows(groups: Sequence[Group], read: bool = True) -> list[dict[str, Any]]:
    """``as_row`` of every row of one render, the clock and the locale read once for all."""
    since = since_function(utcnow(), babel_locale())
    return [_as_row(g, read, since) for g in groups]


def as_row(
    row: Group, read: bool = True, now: datetime | None = None, locale: Locale | None = None
) -> dict[str, Any]:
    """What the menu, the page and notifications.json show of a row (text, never markup).

    ``read=False`` leaves the read state out (None): the menu does not show it,
    and so does not pay its queries. ``now`` and ``locale`` (Babel's) are the
    render's, else read for this row.
    """
    return _as_row(row, read, since_function(now or utcnow(), locale or babel_locale()))


def _as_row(row: Group, read: bool, since: Callable[[datetime], str]) -> dict[str, Any]:
    """``as_row`` with the render's relative times (``since``): looked up once, not per row."""
    newest = row.newest
    target = newest.target_shown
    return {
        'ids': row.ids,
        'count': len(row.members),
        'who': row.who,
        'verb': newest.verb,
        'target': refs.display(target),
        'link': refs.hook(target, 'as_link'),
        'avatar': avatar_url(newest.actor_shown),
        'timestamp': iso(newest.timestamp),
        'since': since(newest.timestamp),
        'unseen': row.unseen,
        'read': row.read if read else None,
        'cursor': row.oldest.cursor,
    }

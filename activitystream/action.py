"""Actions as users read them, and the page that loads their entities in batches."""

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from . import refs
from .entities.shown import Shown
from .query import encode_cursor
from .storage.base import ActionRecord, Ref, Storage
from .timeutil import time_since

_MISSING = object()


class Page:
    """Actions read together.

    Their actors, targets and objects are loaded on first use, all at once:
    one query for the whole page (on Ming, one per entity class). Recipients
    and read state load the same way, only when asked for.
    """

    def __init__(
        self,
        storage: Storage,
        records: Iterable[ActionRecord],
        read_state: Callable[[list[Any]], tuple[Any, Any, Any]] | None = None,
    ) -> None:
        self.storage = storage
        self.actions = [Action(record, self) for record in records]
        # ids -> (last seen, read until, ids marked read), for get_by_recipient's pages
        self._read_state = read_state
        self._loaded: dict[Ref, Any] = {}  # entities, or the stand-ins of rows
        self._recipients: dict[Any, list[Any]] | None = None
        self._marks: tuple[Any, Any, Any] | None = None

    def known_entities(self, entities: Mapping[Ref, Any]) -> None:
        """Take entities the caller already holds ({Ref: entity}) instead of loading them."""
        self._loaded = dict(entities)

    def known_recipients(self, by_action: Mapping[Any, list[Any]]) -> None:
        """Take the recipients the caller already holds ({action id: [entity]})."""
        self._recipients = dict(by_action)

    def entity(self, ref: Ref | None) -> Any:
        """The entity of ``ref`` (None: deleted), loaded with every other the page lacks."""
        if ref is None:
            return None
        found = self._loaded.get(ref, _MISSING)  # rows ask for the same few entities many times
        if found is _MISSING or isinstance(found, Shown):
            loaded = self._loaded
            wanted = {r for r in self._refs() if r not in loaded or isinstance(loaded[r], Shown)}
            loaded.update(refs.resolve(self.storage, wanted))
            found = loaded.get(ref)
        return found

    def shown(self, ref: Ref | None) -> Any:
        """What rows show of ``ref``: its entity, or its :class:`~.entities.shown.Shown` when
        its class lists ``__activitystream_display__`` (read with the page's others, once)."""
        if ref is None:
            return None
        found = self._loaded.get(ref, _MISSING)
        if found is _MISSING:
            wanted = self._refs() - set(self._loaded)
            self._loaded.update(refs.resolve(self.storage, wanted, for_rows=True))
            found = self._loaded.get(ref)
        return found

    def _refs(self) -> set[Ref]:
        """Every entity the page may show: its actions' actors, targets and objects."""
        return {r for a in self.actions for r in a.refs if r is not None}

    def recipients(self, action: 'Action') -> list[Any] | None:
        if action.broadcast:
            return None
        if self._recipients is None or action.id not in self._recipients:
            known = self._recipients or {}
            ids = [a.id for a in self.actions if not a.broadcast and a.id not in known]
            by_action = self.storage.recipients_of(ids)
            entities = refs.resolve(self.storage, {r for rs in by_action.values() for r in rs})
            loaded = {
                id_: [entities[r] for r in by_action.get(id_, []) if entities.get(r) is not None]
                for id_ in ids
            }
            self._recipients = {**known, **loaded}
        return self._recipients[action.id]

    def state(self, action: 'Action') -> tuple[bool | None, bool | None]:
        """(seen, read) of ``action`` for the page's recipient; (None, None) for streams."""
        if self._read_state is None:
            return None, None
        if self._marks is None:
            self._marks = self._read_state([a.id for a in self.actions])
        last_seen, read_until, marked = self._marks
        seen = last_seen is not None and action.timestamp <= last_seen
        read = (read_until is not None and action.timestamp <= read_until) or action.id in marked
        return seen, read


class Action:
    """One activity. Referenced entities resolve in batches with the rest of the page.

    ``actor`` and ``target`` are display strings (``refs.display``: the
    entity's ``as_str`` as in 0.1.1, never its ``repr``); ``action_obj`` is
    the entity, as in 0.1.1. The entities themselves are ``actor_entity``,
    ``target_entity`` and ``action_obj_entity``; the stored references are
    ``actor_ref``, ``target_ref`` and ``action_obj_ref``. A deleted entity
    reads as None.
    """

    def __init__(self, record: ActionRecord, page: Page) -> None:
        self._page = page
        self.id = record.id
        self.actor_ref = record.actor
        self.verb = record.verb
        self.target_ref = record.target
        self.action_obj_ref = record.action_obj
        self.description = record.description
        self._extra = record.extra
        self.timestamp = record.timestamp
        self.broadcast = record.broadcast
        self.public = record.public

    def __repr__(self) -> str:
        return f'<Action {self.id} {self.actor_ref.type}:{self.actor_ref.id} {self.verb!r}>'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Action) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def refs(self) -> tuple[Ref, Ref | None, Ref | None]:
        """The stored references of actor, target and action_obj (None where absent)."""
        return self.actor_ref, self.target_ref, self.action_obj_ref

    @property
    def _id(self) -> Any:
        """The 0.1.1 name of ``id`` (cache keys in the seed README use it)."""
        return self.id

    @property
    def cursor(self) -> str:
        """Where the next page starts: ``query.before(action.cursor)`` gives older actions."""
        return encode_cursor(self)

    @property
    def extra(self) -> Any:
        """``extra`` as it was given to ``create``: a dict, a string, ..."""
        return None if self._extra is None else json.loads(self._extra)

    @property
    def actor_entity(self) -> Any:
        return self._page.entity(self.actor_ref)

    @property
    def target_entity(self) -> Any:
        return self._page.entity(self.target_ref)

    @property
    def action_obj_entity(self) -> Any:
        return self._page.entity(self.action_obj_ref)

    @property
    def actor_shown(self) -> Any:
        """The actor as rows show it: ``actor_entity``, or only the attributes its class
        lists in ``__activitystream_display__`` (see :mod:`activitystream.entities.shown`)."""
        return self._page.shown(self.actor_ref)

    @property
    def target_shown(self) -> Any:
        """The target as rows show it (see ``actor_shown``)."""
        return self._page.shown(self.target_ref)

    @property
    def action_obj_shown(self) -> Any:
        """The object as rows show it (see ``actor_shown``)."""
        return self._page.shown(self.action_obj_ref)

    @property
    def actor(self) -> str | None:
        return refs.display(self.actor_entity)

    @property
    def target(self) -> str | None:
        return refs.display(self.target_entity)

    @property
    def action_obj(self) -> Any:
        return self.action_obj_entity

    @property
    def target_link(self) -> Any:
        """The target's ``as_link``, when its class has one."""
        return refs.hook(self.target_entity, 'as_link')

    @property
    def recipients(self) -> list[Any] | None:
        """The entities it was delivered to; None for a broadcast."""
        return self._page.recipients(self)

    @property
    def seen(self) -> bool | None:
        """Whether the recipient it was read for has seen it (None outside ``get_by_recipient``)."""
        return self._page.state(self)[0]

    @property
    def read(self) -> bool | None:
        """Whether the recipient it was read for has read it (None outside ``get_by_recipient``)."""
        return self._page.state(self)[1]

    @property
    def timestamp_since(self) -> str:
        return time_since(self.timestamp)

    @property
    def timestamp_24_hh_mm(self) -> str:
        """'HH:MM:SS' (UTC) as 0.1.1 gave it; its templates cut the seconds with ``[:-3]``."""
        return self.timestamp.strftime('%H:%M:%S')

    def render_str(
        self,
        action: 'Action | None' = None,
        timestamp_since: bool = False,
        timestamp_format: Callable[[datetime], str] | None = None,
    ) -> str:
        """``actor verb [action_obj] [target] time`` as one line of text.

        ``action`` is accepted for 0.1.1's ``render_str(action)`` call shape.
        """
        action = action or self
        if timestamp_since:
            when = action.timestamp_since
        elif timestamp_format is not None:
            when = timestamp_format(action.timestamp)
        else:
            when = datetime.strftime(action.timestamp, '%Y-%m-%d %H:%M')
        obj = action.action_obj
        parts = [action.actor, action.verb, obj and refs.display(obj), action.target, when]
        return ' '.join(str(p) for p in parts if p)

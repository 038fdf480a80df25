"""ActionManager: the public API of activitystream, the same on every backend.

Validation, recipient handling and the seen/read rules live here, once;
storage backends only store and query.

Seen and read are two watermark-based states per recipient:

- *seen* (the notification menu was opened): every action at or before the
  recipient's last-seen time. The time is the recipient's own
  ``last_activity_seen`` attribute when its class has one (0.1.1's way),
  otherwise it is kept by the package.
- *read* (that notification was clicked): every action at or before the
  read-until watermark, plus those marked read one by one after it. Marking
  all read moves the watermark: one write, whatever the number of actions.
"""

import json
from collections.abc import Iterable, Mapping

from . import live, model, refs
from .action import Action, Page
from .query import ActionQuery, Source
from .storage.base import ActionRecord, NewAction, Ref, StreamFilter
from .timeutil import to_utc, utcnow

CREATE_ARGS = (
    'actor',
    'verb',
    'target',
    'action_obj',
    'description',
    'extra',
    'recipients',
    'timestamp',
)
MAX_VERB = 255


def _optional_ref(obj, argname):
    return None if obj is None else refs.ref_of(obj, argname)


def _verb(verb, argname):
    if not isinstance(verb, str):
        raise TypeError(f'{argname} must be a string, got {type(verb).__name__}')
    if not verb.strip():
        raise ValueError(f'{argname} must not be empty')
    if len(verb) > MAX_VERB:
        raise ValueError(f'{argname} is {len(verb)} characters long; at most {MAX_VERB} fit')
    return verb


def _extra(extra, argname):
    if extra is None:
        return None
    try:
        return json.dumps(extra, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f'{argname} is not JSON-serializable: {exc}') from None


def _action_ids(actions):
    if isinstance(actions, Action):
        return [actions.id]
    if isinstance(actions, (str, bytes)) or not isinstance(actions, Iterable):
        raise TypeError(f'actions must be a list of actions or None, got {type(actions).__name__}')
    return [a.id if isinstance(a, Action) else a for a in actions]


class ActionManager:
    """Create actions and read them back as streams and notifications.

    ``from activitystream import am`` gives the shared instance; creating your
    own ``ActionManager()`` (as the 0.1.1 README does) is the same thing.
    """

    def __init__(self, storage=None):
        self._storage = storage

    @property
    def storage(self):
        return self._storage or model.storage()

    # -- writing -----------------------------------------------------------

    def _prepare(
        self,
        prefix,
        actor=None,
        verb=None,
        target=None,
        action_obj=None,
        description=None,
        extra=None,
        recipients=None,
        timestamp=None,
    ):
        """Validate one action's arguments; return (NewAction, {Ref: entity})."""
        known = {}
        actor_ref = refs.ref_of(actor, prefix + 'actor')
        known[actor_ref] = actor
        if verb is None:
            raise ValueError(f'{prefix}verb is required')
        verb = _verb(verb, prefix + 'verb')
        target_ref = _optional_ref(target, prefix + 'target')
        obj_ref = _optional_ref(action_obj, prefix + 'action_obj')
        known.update({target_ref: target, obj_ref: action_obj})
        if description is not None and not isinstance(description, str):
            raise TypeError(
                f'{prefix}description must be a string, got {type(description).__name__}'
            )
        recipient_refs, recipient_entities = refs.ref_list(recipients, prefix + 'recipients')
        when = utcnow() if timestamp is None else to_utc(timestamp, prefix + 'timestamp')
        new = NewAction(
            actor=actor_ref,
            verb=verb,
            target=target_ref,
            action_obj=obj_ref,
            description=description,
            extra=_extra(extra, prefix + 'extra'),
            timestamp=when,
            recipients=recipient_refs,
        )
        known = {ref: e for ref, e in known.items() if ref is not None and not isinstance(e, Ref)}
        if recipient_entities and any(isinstance(e, Ref) for e in recipient_entities):
            recipient_entities = None  # given as references: load them when asked
        return new, known, recipient_entities

    def _store(self, prepared):
        storage = self.storage
        ids = storage.insert_actions([new for new, _, _ in prepared])
        records = [
            ActionRecord(
                id=id_,
                actor=new.actor,
                verb=new.verb,
                target=new.target,
                action_obj=new.action_obj,
                description=new.description,
                extra=new.extra,
                timestamp=new.timestamp,
                broadcast=new.recipients is None,
            )
            for id_, (new, _, _) in zip(ids, prepared, strict=True)
        ]
        page = Page(storage, records)
        # what we were given needs no query to be read back
        page.known_entities({ref: e for _, known, _ in prepared for ref, e in known.items()})
        given = zip(ids, prepared, strict=True)
        page.known_recipients({id_: rs for id_, (_, _, rs) in given if rs is not None})
        return page.actions

    def create(
        self,
        actor,
        verb,
        target=None,
        action_obj=None,
        description=None,
        extra=None,
        recipients=None,
        timestamp=None,
    ):
        """Store an action and deliver it; return it.

        ``recipients=None`` is a broadcast: every recipient sees it. Bad
        arguments raise TypeError/ValueError naming the argument, and then
        nothing is written.
        """
        prepared = self._prepare(
            '', actor, verb, target, action_obj, description, extra, recipients, timestamp
        )
        action = self._store([prepared])[0]
        live.changed(prepared[0].recipients)
        return action

    def check(self, **arguments):
        """Raise what ``create(**arguments)`` would raise for them, writing nothing."""
        self._prepare('', **arguments)

    def create_many(self, items):
        """Store many actions in bulk: each item is a dict of ``create``'s arguments.

        Every item is validated first; a bad one raises an error naming its
        index and nothing of the batch is written. Being the import and
        back-fill path, it pushes no live updates: open pages catch up by polling.
        """
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise TypeError(f'items must be a list of dicts, got {type(items).__name__}')
        prepared = []
        for index, item in enumerate(items):
            prefix = f'items[{index}].'
            if not isinstance(item, Mapping):
                raise TypeError(f'items[{index}] must be a dict, got {type(item).__name__}')
            unknown = sorted(set(item) - set(CREATE_ARGS))
            if unknown:
                raise TypeError(f'{prefix}{unknown[0]} is not an argument of create()')
            prepared.append(self._prepare(prefix, **item))
        return self._store(prepared) if prepared else []

    # -- reading -----------------------------------------------------------

    def _query(self, fetch, total, read_state=None):
        storage = self.storage
        page = lambda records: Page(storage, records, read_state)  # noqa: E731
        return ActionQuery(Source(fetch, total, page, storage.action_id))

    def get_by_recipient(self, recipient):
        """Actions delivered to ``recipient`` and broadcasts, newest first.

        Actions read through it tell ``seen`` and ``read`` for that recipient.
        """
        ref = refs.ref_of(recipient, 'recipient')
        storage = self.storage

        def read_state(ids):
            state = storage.seen_state(ref)
            return self._last_seen(recipient, state), state.read_until, storage.read_marks(ref, ids)

        return self._query(
            lambda limit, offset, before: storage.inbox(ref, limit, offset, before),
            lambda: storage.inbox_count(ref),
            read_state,
        )

    def get_actions(self, actor=None, target=None, action_obj=None, verb=None, limit=None):
        """The stream of an actor, a target, an object and/or a verb, newest first."""
        where = StreamFilter(
            actor=_optional_ref(actor, 'actor'),
            target=_optional_ref(target, 'target'),
            action_obj=_optional_ref(action_obj, 'action_obj'),
            verb=None if verb is None else _verb(verb, 'verb'),
        )
        storage = self.storage
        query = self._query(
            lambda lim, offset, before: storage.stream(where, lim, offset, before),
            lambda: storage.stream_count(where),
        )
        return query if limit is None else query.limit(limit)

    # -- seen --------------------------------------------------------------

    def _seen_attribute(self, recipient):
        name = model.options().get('seen_attribute', 'last_activity_seen')
        return name if hasattr(type(recipient), name) else None

    def _last_seen(self, recipient, state):
        attr = self._seen_attribute(recipient)
        if attr is None:
            return state.last_seen
        value = getattr(recipient, attr)
        return None if value is None else to_utc(value, attr)

    def last_seen(self, recipient):
        """When ``recipient`` last saw its notifications (naive UTC), or None."""
        ref = refs.ref_of(recipient, 'recipient')
        if self._seen_attribute(recipient):
            return self._last_seen(recipient, None)
        return self.storage.seen_state(ref).last_seen

    def mark_seen(self, recipient, until=None):
        """Set the last-seen time of ``recipient`` (default: now); return the previous one.

        Actions at or before it are seen. Times have millisecond steps, so an
        action stamped in the very millisecond of the call counts as seen.
        """
        ref = refs.ref_of(recipient, 'recipient')
        until = utcnow() if until is None else to_utc(until, 'until')
        storage = self.storage
        attr = self._seen_attribute(recipient)
        if attr is not None:
            previous = self._last_seen(recipient, None)
            setattr(recipient, attr, until)
            storage.flush_entity(recipient)
        else:
            state = storage.seen_state(ref)
            previous, state.last_seen = state.last_seen, until
            storage.save_seen_state(ref, state)
        live.changed([ref])
        return previous

    def count_not_seen_by_recipient(self, recipient):
        """How many actions visible to ``recipient`` are newer than its last-seen time."""
        ref = refs.ref_of(recipient, 'recipient')
        return self.storage.inbox_count(ref, self.last_seen(recipient))

    # -- read --------------------------------------------------------------

    def _unread(self, ref, read_until):
        storage = self.storage
        return storage.inbox_count(ref, read_until) - storage.count_read_marks(ref, read_until)

    def count_unread_by_recipient(self, recipient):
        """How many actions visible to ``recipient`` it has not read. Exact, no cap."""
        ref = refs.ref_of(recipient, 'recipient')
        return self._unread(ref, self.storage.seen_state(ref).read_until)

    def mark_read(self, recipient, actions=None):
        """Mark ``actions`` (all when None, broadcasts included) read; return how many changed.

        Actions not visible to ``recipient`` are left alone.
        """
        ref = refs.ref_of(recipient, 'recipient')
        storage = self.storage
        state = storage.seen_state(ref)
        if actions is None:
            changed = self._unread(ref, state.read_until)
            newest = storage.newest_visible(ref)
            if newest is not None and (state.read_until is None or newest > state.read_until):
                state.read_until = newest
                storage.save_seen_state(ref, state)
                storage.drop_read_marks(ref, newest)
            return changed
        visible = storage.visible(ref, _action_ids(actions))
        unread = {
            id_: ts
            for id_, ts in visible.items()
            if state.read_until is None or ts > state.read_until
        }
        new = set(unread) - storage.read_marks(ref, unread)
        storage.add_read_marks(ref, {id_: unread[id_] for id_ in new})
        return len(new)


am = ActionManager()

"""Actions as other programs read them: JSON, Activity Streams 2.0 and Atom.

Pure functions from actions to documents; the controllers choose, page and
authorize. Nothing here queries: a page's entities load in one batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from . import refs

if TYPE_CHECKING:
    from .action import Action
    from .storage.base import Ref

AS2_CONTEXT = 'https://www.w3.org/ns/activitystreams'
AS2_PUBLIC = 'https://www.w3.org/ns/activitystreams#Public'
AS2_MEDIA_TYPE = 'application/activity+json'
ATOM_NS = 'http://www.w3.org/2005/Atom'
# What XML 1.0 cannot hold even escaped: C0 controls but tab and newlines, lone surrogates,
# U+FFFE and U+FFFF. One of them in any stored text would make a whole feed unreadable.
_NOT_XML = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')

# The first word of a verb -> its Activity Streams 2.0 activity type.
AS2_TYPES = {
    'accepted': 'Accept',
    'added': 'Add',
    'announced': 'Announce',
    'shared': 'Announce',
    'arrived': 'Arrive',
    'blocked': 'Block',
    'created': 'Create',
    'posted': 'Create',
    'commented': 'Create',
    'wrote': 'Create',
    'deleted': 'Delete',
    'removed': 'Remove',
    'disliked': 'Dislike',
    'flagged': 'Flag',
    'followed': 'Follow',
    'started': 'Follow',
    'ignored': 'Ignore',
    'invited': 'Invite',
    'joined': 'Join',
    'left': 'Leave',
    'liked': 'Like',
    'listened': 'Listen',
    'moved': 'Move',
    'offered': 'Offer',
    'asked': 'Question',
    'read': 'Read',
    'rejected': 'Reject',
    'travelled': 'Travel',
    'traveled': 'Travel',
    'undid': 'Undo',
    'updated': 'Update',
    'edited': 'Update',
    'changed': 'Update',
    'viewed': 'View',
    'saw': 'View',
}


def iso(timestamp: datetime) -> str:
    """Stored naive UTC as ISO 8601 with a Z, milliseconds kept (an aware time: its clock's)."""
    if timestamp.tzinfo is not None:
        timestamp = timestamp.replace(tzinfo=None)
    return timestamp.isoformat(timespec='milliseconds') + 'Z'


def as_json(action: Action) -> dict[str, Any]:
    """A notification as the menu's script needs it (its entities as rows show them)."""
    target = action.target_shown
    return {
        'id': str(action.id),
        'actor': refs.display(action.actor_shown),
        'verb': action.verb,
        'target': refs.display(target),
        'object': refs.display(action.action_obj_shown),
        'description': action.description,
        'link': refs.hook(target, 'as_link'),
        'timestamp': iso(action.timestamp),
        'since': action.timestamp_since,
        'seen': action.seen,
        'read': action.read,
        'cursor': action.cursor,
    }


def as2_type(verb: str) -> str:
    words = verb.split()
    return AS2_TYPES.get(words[0].lower(), 'Activity') if words else 'Activity'


def absolute(base_url: str, link: str) -> str:
    """``link`` (an entity's ``as_link``) as an absolute URL on ``base_url``."""
    return link if link.startswith(('http://', 'https://')) else base_url + link


def _link_of(entity: Any) -> Any:
    link = getattr(entity, 'as_link', None)
    return link() if callable(link) else link


def _as2_object(ref: Ref, entity: Any, base_url: str) -> dict[str, Any]:
    link = _link_of(entity)
    found = {
        'type': getattr(entity, 'as2_type', 'Object'),
        'id': absolute(base_url, link) if link else f'urn:activitystream:{ref.type}:{ref.id}',
    }
    if entity is not None:
        found['name'] = refs.display(entity)
    else:
        found['type'] = 'Tombstone'  # the AS2 way to show something deleted
    return found


def as2_activity(action: Action, base_url: str) -> dict[str, Any]:
    """One action as an AS2 Activity; ``to`` is Public for public actions only."""
    doc = {
        'id': f'urn:activitystream:action:{action.id}',
        'type': as2_type(action.verb),
        'name': action.verb,
        'summary': action.render_str(timestamp_format=iso),
        'actor': _as2_object(action.actor_ref, action.actor_entity, base_url),
        'published': iso(action.timestamp),
    }
    for key, ref, entity in (
        ('object', action.action_obj_ref, action.action_obj_entity),
        ('target', action.target_ref, action.target_entity),
    ):
        if ref is not None:
            doc[key] = _as2_object(ref, entity, base_url)
    if action.description:
        doc['content'] = action.description
    if action.public:
        doc['to'] = [AS2_PUBLIC]
    return doc


def as2_page(
    actions: Sequence[Action],
    page_url: str,
    collection_url: str,
    next_url: str | None,
    base_url: str,
) -> dict[str, Any]:
    """An AS2 OrderedCollectionPage of ``actions`` with cursor links.

    ``next`` leads to older activities; pages after the first have ``prev``
    back to the newest (cursors go one way: a page of newer items is the top).
    """
    page = {
        '@context': AS2_CONTEXT,
        'id': page_url,
        'type': 'OrderedCollectionPage',
        'partOf': collection_url,
        'orderedItems': [as2_activity(a, base_url) for a in actions],
    }
    if page_url != collection_url:
        page['prev'] = collection_url
    if next_url:
        page['next'] = next_url
    return page


def xml_text(text: str) -> str:
    """``text`` with each character XML 1.0 forbids replaced by U+FFFD."""
    return _NOT_XML.sub('\ufffd', text)


def atom_feed(
    actions: Sequence[Action],
    title: str,
    feed_url: str,
    alternate_url: str,
    next_url: str | None,
    base_url: str,
) -> bytes:
    """An Atom 1.0 feed of ``actions``; ElementTree escapes every text, ``xml_text``
    replaces what no escape can carry."""
    ET.register_namespace('', ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        attrs = {name: xml_text(value) for name, value in attrs.items()}
        element = ET.SubElement(parent, f'{{{ATOM_NS}}}{tag}', attrs)
        if text is not None:
            element.text = xml_text(text)
        return element

    feed = ET.Element(f'{{{ATOM_NS}}}feed')
    sub(feed, 'id', feed_url)
    sub(feed, 'title', title)
    updated = max((a.timestamp for a in actions), default=None)
    sub(feed, 'updated', iso(updated) if updated else '1970-01-01T00:00:00Z')
    sub(feed, 'link', rel='self', href=feed_url)
    sub(feed, 'link', rel='alternate', href=alternate_url)
    if next_url:
        sub(feed, 'link', rel='next', href=next_url)
    for action in actions:
        entry = sub(feed, 'entry')
        sub(entry, 'id', f'urn:activitystream:action:{action.id}')
        sub(entry, 'title', action.render_str(timestamp_format=lambda t: '').strip())
        sub(entry, 'updated', iso(action.timestamp))
        sub(entry, 'published', iso(action.timestamp))
        author = sub(entry, 'author')
        sub(author, 'name', action.actor or f'{action.actor_ref.type} {action.actor_ref.id}')
        if action.target_link:
            sub(entry, 'link', rel='alternate', href=absolute(base_url, action.target_link))
        if action.description:
            sub(entry, 'summary', action.description)
    return ET.tostring(feed, encoding='utf-8', xml_declaration=True)

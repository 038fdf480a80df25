"""The shipped catalogs: complete for en, it, ru, and compiled from the .po committed."""

import gettext
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from activitystream.translation import DOMAIN, LOCALEDIR

LANGUAGES = ['en', 'it', 'ru']


def po_catalog(language):
    with open(Path(LOCALEDIR) / language / 'LC_MESSAGES' / f'{DOMAIN}.po', 'rb') as f:
        return read_po(f)


@pytest.mark.parametrize('language', LANGUAGES)
def test_every_message_is_translated(language):
    with open(Path(LOCALEDIR) / f'{DOMAIN}.pot', 'rb') as f:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    catalog = po_catalog(language)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    assert template and template <= translated


@pytest.mark.parametrize('language', LANGUAGES)
def test_the_mo_files_are_compiled_from_the_po_files(language):
    """`make i18n` was run after the last .po change (the .mo are what users get)."""
    compiled = gettext.translation(DOMAIN, LOCALEDIR, languages=[language])
    for message in po_catalog(language):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            for n in (1, 2, 5, 21):
                expected = message.string[compiled.plural(n)]
                assert compiled.ngettext(message.id[0], message.id[1], n) == expected
        else:
            assert compiled.gettext(message.id) == message.string

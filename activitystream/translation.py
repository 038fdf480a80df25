"""gettext for activitystream, inside a request and outside one.

Inside a TG request the host's translator is asked first (so a host can
override our strings), then our own catalogs in the request's languages.
Outside a request (scripts, workers rendering e-mails) our catalogs are used
in the configured default language (``i18n.lang``), English when unset.
"""

from __future__ import annotations

import functools
import gettext
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel import Locale

DOMAIN = 'activitystream'
LOCALEDIR = os.path.join(os.path.dirname(__file__), 'i18n')


@functools.lru_cache(maxsize=64)
def _catalog(languages: tuple[str, ...]) -> gettext.NullTranslations:
    """Our catalog for these languages, looked up once (not a file search per string)."""
    return gettext.translation(DOMAIN, LOCALEDIR, languages=list(languages), fallback=True)


def _languages() -> tuple[list[Any], bool]:
    """The request's languages, or the configured default outside a request."""
    import tg

    try:
        from tg.i18n import get_lang

        langs = get_lang(all=True)
    except TypeError:  # no request: TG's context is not registered for this thread
        langs = None
    if langs:
        return list(langs), True
    try:
        default = tg.config.get('i18n.lang')
    except (TypeError, AttributeError):  # no application configured
        default = None
    return ([default] if default else ['en']), False


def _translate(method: str, *args: Any) -> str:
    """Ask the request's translator (the host's words win), then our own catalogs."""
    langs, in_request = _languages()
    if in_request:
        import tg

        text = getattr(tg.translator, method)(*args)
        if text not in args[:2]:
            return text
    return getattr(_catalog(tuple(map(str, langs))), method)(*args)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translate('ngettext', singular, plural, n)


def ugettext(message: str) -> str:
    return _translate('gettext', message)


_ = ugettext


def l_(message: str) -> str:
    """Mark a string for extraction; translate it later with ``_()``."""
    return message


@functools.lru_cache(maxsize=64)
def _babel_locale(tag: str) -> Locale | None:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag.replace('-', '_'))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def babel_locale() -> Locale:
    """The Babel locale of the request's first language Babel knows (else the default, else en)."""
    from babel import Locale

    for lang in _languages()[0]:
        found = _babel_locale(str(lang))
        if found is not None:
            return found
    return Locale('en')

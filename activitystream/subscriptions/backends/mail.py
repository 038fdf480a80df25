"""The ``email`` backend: one e-mail per recipient, after the host's transaction commits.

SMTP settings come from the host's configuration (its .ini file)::

    activitystream.smtp_host = localhost        # default
    activitystream.smtp_port = 25               # default
    activitystream.smtp_from = notifications@example.com
    activitystream.smtp_security = none         # or starttls, ssl
    activitystream.smtp_username = ...          # log in when given
    activitystream.smtp_password = ...
    activitystream.smtp_timeout = 10            # seconds
    activitystream.site_url = https://example.com   # makes links in mails absolute

Or, with the ``mail_transport = 'tgext.mailer'`` plug option, the site's own
``tgext.mailer`` (plugged, with its ``mail.*`` settings) carries the mails:
its SMTP mailer sends each at once from the outbox worker, which already runs
after the host's commit (its transactional ``send`` would wait for a commit
the worker never makes). ``activitystream.smtp_from`` still names the sender.

The address is the recipient's ``email_address`` attribute (the
``email_address_attribute`` option); recipients without one get no mail. The
subject is the ``email_subject`` option formatted with the text (or the
``subject`` keyword argument of ``emit()``), cut to one line. The body has a
plain-text and an HTML part, rendered from ``<email_template>.txt`` and
``.xhtml`` with Kajiki, or ``.genshi.txt`` and ``.html`` with Genshi (the
``email_renderer`` option). Templates get ``text``, ``subject``,
``recipient``, ``actor``, ``obj`` (``subscribers_of``), ``link`` (the
absolute ``as_link`` of ``obj``, or None), ``settings`` (the absolute URL of
the notification settings page, or None) and ``kwargs``.

With ``activitystream.site_url`` set, every mail carries RFC 8058's
``List-Unsubscribe`` and ``List-Unsubscribe-Post`` headers: a signed link that
turns the e-mail of the notification's kind off for its recipient, without a
login (see ``activitystream.unsubscribe``).
"""

from __future__ import annotations

import email
import importlib.util
import os
import re
import smtplib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import tg

from ... import model, preferences, refs, unsubscribe
from ...translation import _, l_
from .base import BaseBackend

SUBJECT_LENGTH = 78
# the text of the settings link, translated into a context value (kajiki would translate a
# literal with the request's translator, and a worker has no request)
SETTINGS_LABEL = l_('Choose which e-mails you get')
SECURITY = ('none', 'starttls', 'ssl')
CRLF_COMPAT = policy.compat32.clone(linesep='\r\n')
# renderer -> extensions of the (text, html) templates
EXTENSIONS = {'kajiki': ('.txt', '.xhtml'), 'genshi': ('.genshi.txt', '.html')}
Render = Callable[[dict[str, Any]], str]  # a template: its context -> the text


def _setting(name: str, default: Any) -> Any:
    return tg.config.get(f'activitystream.{name}', default)


def sender_address() -> Any:
    return _setting('smtp_from', 'activitystream@localhost')


@contextmanager
def _mailer_connection() -> Iterator[Any]:
    """The site's tgext.mailer as a connection with ``send_message``."""
    from tgext.mailer import get_mailer

    smtp = get_mailer(None).smtp_mailer

    class Connection:
        def send_message(self, mail: EmailMessage) -> None:
            # repoze.sendmail encodes headers again: hand it the wire form, read back plainly,
            # that serializes with CRLF (smtplib sends bytes as given, and a strict server
            # takes a long mail with bare LFs for one line too long)
            plain = email.message_from_bytes(mail.as_bytes(), policy=CRLF_COMPAT)
            smtp.send(str(mail['From']), [str(mail['To'])], plain)

    yield Connection()


def connection() -> AbstractContextManager[Any]:
    """A connection of the configured transport (``mail_transport``): ``send_message(mail)``."""
    if model.options()['mail_transport'] == 'tgext.mailer':
        return _mailer_connection()
    return smtp_connection()


def send(unsent: Iterable[tuple[Any, EmailMessage]]) -> list[tuple[Any, Exception]]:
    """Send each (key, mail) over one connection; return the failed ones as (key, error)."""
    failed = []
    unsent = list(unsent)
    try:
        with connection() as smtp:
            while unsent:
                key, mail = unsent.pop(0)
                try:
                    smtp.send_message(mail)
                except Exception as exc:  # noqa: BLE001 - a refused address, a dropped line
                    failed.append((key, exc))
    except Exception as exc:  # noqa: BLE001 - no connection: what is left unsent failed
        failed += [(key, exc) for key, _ in unsent]
    return failed


@contextmanager
def smtp_connection() -> Iterator[smtplib.SMTP]:
    """An SMTP connection made from the host's ``activitystream.smtp_*`` settings."""
    security = str(_setting('smtp_security', 'none')).lower()
    if security not in SECURITY:
        raise ValueError(f'activitystream.smtp_security must be one of {", ".join(SECURITY)}')
    host = _setting('smtp_host', 'localhost')
    port = int(_setting('smtp_port', 25))
    timeout = float(_setting('smtp_timeout', 10))
    connect = smtplib.SMTP_SSL if security == 'ssl' else smtplib.SMTP
    with connect(host, port, timeout=timeout) as smtp:
        if security == 'starttls':
            smtp.starttls()
        username = _setting('smtp_username', None)
        if username:
            smtp.login(username, _setting('smtp_password', ''))
        yield smtp


def _template_path(name: str, extension: str) -> str:
    package, _, base = name.rpartition('.')
    try:
        spec = importlib.util.find_spec(package)
    except ImportError:
        spec = None
    for folder in (spec and spec.submodule_search_locations) or ():
        path = os.path.join(folder, base + extension)
        if os.path.isfile(path):
            return path
    raise ValueError(f'email template {name}{extension} not found')


@cache
def templates(renderer: str, name: str) -> tuple[Render, Render]:
    """(text, html) render functions of template ``name``: each takes the context dict."""
    text_path, html_path = (_template_path(name, ext) for ext in EXTENSIONS[renderer])
    with open(text_path, encoding='utf-8') as text_file, open(html_path, encoding='utf-8') as html:
        text_source, html_source = text_file.read(), html.read()
    if renderer == 'kajiki':
        import kajiki

        text = kajiki.TextTemplate(text_source, filename=text_path)
        markup = kajiki.XMLTemplate(html_source, filename=html_path, mode='html5')
        return (lambda c: text(c).render()), (lambda c: markup(c).render())
    from genshi.template import MarkupTemplate, NewTextTemplate

    text = NewTextTemplate(text_source, filepath=text_path)
    markup = MarkupTemplate(html_source, filepath=html_path)
    return (
        lambda c: text.generate(**c).render('text', encoding=None),
        lambda c: markup.generate(**c).render('html', doctype='html5', encoding=None),
    )


def compose(
    address: str,
    subject: str,
    message_id: str,
    renderers: tuple[Render, Render],
    context: dict[str, Any],
) -> EmailMessage:
    """A mail with a plain-text and an HTML part rendered by ``renderers`` from ``context``."""
    render_text, render_html = renderers
    mail = EmailMessage()
    mail['From'] = sender_address()
    mail['To'] = address
    mail['Subject'] = subject
    mail['Date'] = formatdate()
    mail['Message-ID'] = message_id
    mail.set_content(render_text(context))
    mail.add_alternative(render_html(context), subtype='html')
    return mail


def absolute_link(entity: Any) -> str | None:
    """The absolute ``as_link`` of ``entity`` (with ``activitystream.site_url``), or None."""
    link = getattr(entity, 'as_link', None)
    link = link() if callable(link) else link
    if not isinstance(link, str):
        return None
    if urlsplit(link).scheme:
        return link
    site = _setting('site_url', None)
    return urljoin(site, link) if site else None


def stable_message_id(name: str) -> str:
    """A Message-ID made of ``name`` alone: the same mail sent twice is seen as one."""
    domain = str(sender_address()).rpartition('@')[2].strip('> ') or 'localhost'
    local = re.sub(r'[^A-Za-z0-9.-]', '-', name)
    return f'<activitystream.{local}@{domain}>'


def _one_line(text: str) -> str:
    line = ' '.join(text.split())
    return line if len(line) <= SUBJECT_LENGTH else line[: SUBJECT_LENGTH - 1] + '…'


class EmailBackend(BaseBackend):
    """Sends each recipient an e-mail (see the module for settings and templates).

    One SMTP connection serves every recipient of an ``emit()`` call.
    """

    channel = 'email'

    def _templates(self) -> tuple[Render, Render]:
        options = model.options()
        return templates(options['email_renderer'], options['email_template'])

    def check(self, subject: Any = None, **kwargs: Any) -> None:
        if subject is not None and not isinstance(subject, str):
            raise TypeError(f'subject must be a string, got {type(subject).__name__}')
        self._templates()

    def _link(self) -> str | None:
        return absolute_link(self.subscribers_of)

    def message(
        self, recipient: Any, text: str, subject: str | None = None, **kwargs: Any
    ) -> EmailMessage | None:
        """The mail for ``recipient``, or None when it has no address."""
        options = model.options()
        address = getattr(recipient, options['email_address_attribute'], None)
        if not address:
            return None
        subject = _one_line(subject or options['email_subject'].format(text=text))
        context = dict(
            text=text,
            subject=subject,
            recipient=recipient,
            actor=self.actor,
            obj=self.subscribers_of,
            link=self._link(),
            settings=unsubscribe.site_url(unsubscribe.SETTINGS_PATH),
            settings_label=_(SETTINGS_LABEL),
            kwargs=kwargs,
        )
        mail = compose(address, subject, self.message_id(recipient), self._templates(), context)
        unsubscribe.headers(mail, recipient, self.kind or preferences.EVERY_KIND)
        return mail

    def message_id(self, recipient: Any) -> str:
        """Stable for one delivery job and recipient: a mail sent twice is seen as one.

        Delivery is at-least-once (a worker may die after sending, before
        finishing its job); mail clients drop a second mail with the same id.
        """
        key = getattr(self, 'delivery_key', None)
        if key is None:
            return make_msgid()
        ref = refs.ref_of(recipient, 'recipient')
        return stable_message_id(f'{key}.{ref.type}.{ref.id}')

    def emit(self, recipient: Any, text: str, **kwargs: Any) -> None:
        failed = self.emit_many([(recipient, text)], **kwargs)
        if failed:
            raise failed[0][2]

    def emit_many(
        self, deliveries: Iterable[tuple[Any, str]], **kwargs: Any
    ) -> list[tuple[Any, str, Exception]]:
        """The mails first, then one connection for all (none when nobody has an address)."""
        failed, unsent = [], []
        for recipient, text in deliveries:
            try:
                mail = self.message(recipient, text, **kwargs)
            except Exception as exc:  # noqa: BLE001 - one recipient never stops the others
                failed.append((recipient, text, exc))
                continue
            if mail is not None:
                unsent.append((recipient, text, mail))
        if not unsent:
            return failed
        lost = send(((recipient, text), mail) for recipient, text, mail in unsent)
        return failed + [(recipient, text, exc) for (recipient, text), exc in lost]

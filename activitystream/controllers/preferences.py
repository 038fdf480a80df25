"""The notification settings page and the one-click unsubscribe endpoint.

``settings`` (GET: the page; POST with the user's CSRF token: store the
choice) is mixed into the RootController; a host that wants the form inside
its own layout calls the ``notification_settings`` partial and posts to the
same URL, or replaces the ``settings_page`` template.
``mail/unsubscribe`` needs no login and no cookie: the link's signature is
the permission. Its GET shows a confirmation form and changes nothing; its
POST (a mail client's RFC 8058 one-click, or that form) turns the e-mail of
the link's kind off.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from tg import expose, redirect, request, response
from tgext.pluggable import plug_url
from webob.exc import HTTPSeeOther

from .. import model, partials, preferences, refs, unsubscribe
from ..options import PERIODS
from ..translation import _
from .support import Endpoints, check_csrf, current_user, fail, requested_ref, same_site


def _settings_choice(params: dict[str, Any]) -> tuple[dict[str, list[str]], str | None]:
    """{kind: [channels]} and the digest period of the settings form; 400 for anything else."""
    kinds = preferences.kinds()
    fields = {
        partials.field_name(kind, channel): (kind, channel)
        for kind in kinds
        for channel in partials.CHANNEL_LABELS
    }
    chosen: dict[str, list[str]] = {kind: [] for kind in kinds}
    for name, value in params.items():
        if name in ('came_from', 'digest_period', '_csrf_token'):
            continue
        if name not in fields:
            fail(400, f'{name} is not a field of the settings form')
        if value != 'on':
            fail(400, f'{name} must be on or left out')
        kind, channel = fields[name]
        chosen[kind].append(channel)
    period = params.get('digest_period')
    if period is not None and period not in PERIODS:
        fail(400, f'digest_period must be one of {", ".join(PERIODS)}')
    return chosen, period


class PreferenceEndpoints(Endpoints):
    """``settings``, for the RootController to inherit."""

    @expose(content_type='text/html')
    def settings(self, **params: Any) -> Markup:
        """The logged-in user's notification settings; POST stores them and comes back (303)."""
        user = current_user()
        if request.method == 'POST':
            check_csrf()
            back = params.get('came_from') or None
            if back is not None and same_site(back) is None:
                fail(400, 'came_from must be a path or a URL on this site')
            chosen, period = _settings_choice(params)
            for kind, channels in chosen.items():
                preferences.set(user, kind, channels)
            if period is not None:
                preferences.set_digest_period(user, period)
            target = same_site(back) if back else plug_url('activitystream', '/settings')
            redirect(target, params={'saved': '1'}, redirect_with=HTTPSeeOther)
        saved = params.get('saved') == '1'
        form = partials.notification_settings(user, saved=saved)
        values = dict(title=_('Notification settings'), form=form, lang=_lang())
        return partials.page('settings_page', values)


def _lang() -> str:
    languages = getattr(request, 'languages', None) or ['en']
    return languages[0]


class MailController(Endpoints):
    """``unsubscribe``: the target of the links in every mail's ``List-Unsubscribe`` header."""

    @expose(content_type='text/html')
    def unsubscribe(
        self,
        type: str | None = None,
        id: str | None = None,
        kind: str | None = None,
        sig: str | None = None,
        **params: Any,
    ) -> Markup:
        ref = requested_ref(type, id)
        if not (isinstance(kind, str) and unsubscribe.is_valid(ref, kind, sig)):
            fail(403, 'this unsubscribe link is not valid')
        try:
            user = refs.find(model.storage(), ref.type, ref.id)
        except ValueError as exc:
            fail(400, str(exc))
        if user is None:
            fail(404, 'nobody is subscribed with this link any more')
        done = request.method == 'POST'
        if done:
            preferences.without_email(user, kind)
        elif request.method not in ('GET', 'HEAD'):
            fail(405, 'use GET or POST')
        declared = preferences.kinds().get(kind)
        what = (
            _('every notification')
            if kind == preferences.EVERY_KIND
            else (declared['label'] if declared else kind)
        )
        values = dict(
            action=plug_url('activitystream', unsubscribe.PATH),
            type=ref.type,
            id=ref.id,
            kind=kind,
            sig=sig,
            done=done,
            settings=plug_url('activitystream', unsubscribe.SETTINGS_PATH),
            lang=_lang(),
            labels=dict(
                title=_('Unsubscribe'),
                question=_('Stop the e-mails about: %s?') % what,
                confirm=_('Stop these e-mails'),
                done=_('Done: no more e-mails about: %s.') % what,
                settings=_('Choose which e-mails you get'),
            ),
        )
        response.headers['Cache-Control'] = 'no-store'
        return partials.page('unsubscribe_page', values)

"""The full notification page ("See all" in the menu), cursor-paged.

Ours is at /activitystream/all. A host mounts its own copy in its root
(``notifications = NotificationsPageController()``) and sets the plug option
``notifications_page_url``, or renders ``partials.notifications_page`` in a
page of its own; the standalone page's template (``...partials.page``) can be
replaced with tgext.pluggable's ``replace_template``.
"""

from markupsafe import Markup
from tg import expose

from .. import partials
from ..translation import _
from .support import Endpoints, current_user, fail, integer

PAGE_MAX = 100


class NotificationsPageController(Endpoints):
    @expose(content_type='text/html')
    def index(self, limit: str = '20', before: str | None = None) -> Markup:
        """A page of grouped notifications; ``before`` is the cursor its "Older" link carries."""
        user = current_user()
        size = integer(limit, 'limit', 1, PAGE_MAX)
        try:
            body = partials.notifications_page(user, size, before or None)
        except ValueError as exc:
            fail(400, str(exc))
        lang = str(partials.babel_locale()).replace('_', '-')
        page = partials.render_partial('page', dict(title=_('Notifications'), body=body, lang=lang))
        return Markup('<!DOCTYPE html>\n') + page

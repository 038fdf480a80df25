"""Controllers mounted at /activitystream/ (or the appid given to plug())."""

from tg import TGController, expose, request, require
from tg.predicates import not_anonymous

from ..manager import am


class RootController(TGController):
    @expose('json')
    @require(not_anonymous())
    def index(self):
        """The logged-in user's unseen and unread counts."""
        user = request.identity['user']
        return dict(
            unseen_count=am.count_not_seen_by_recipient(user),
            unread_count=am.count_unread_by_recipient(user),
        )

"""Error pages: TG's ErrorPageApplicationWrapper sends 403/404/... here."""

from tg import TGController, expose, request

MESSAGES = {403: 'You may not do that.', 404: 'There is nothing here.'}


class ErrorController(TGController):
    @expose('sampleapp.templates.error')
    def document(self, *args, **kwargs):
        response = request.environ.get('tg.original_response')
        code = response.status_int if response else 500
        return dict(code=code, message=MESSAGES.get(code, 'Something went wrong.'))

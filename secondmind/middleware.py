"""A database lock held past the busy timeout answers 503 with Retry-After, not Django's 500 page."""

import logging

from django.http import HttpResponse

from training.locks import RETRY_AFTER_SECONDS, is_lock_timeout

log = logging.getLogger(__name__)


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_lock_timeout(exception):
            return None
        log.warning("database locked past the busy timeout: %s %s answered 503", request.method, request.path)
        response = HttpResponse(
            f"The database is busy; nothing was saved. Try again in {RETRY_AFTER_SECONDS} seconds.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

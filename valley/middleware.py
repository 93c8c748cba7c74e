"""Refuse requests whose query string carries a NUL character, before any view sees it.

PostgreSQL cannot store or compare text containing NUL (0x00): a `?state=%00` that reached a
filter, an admin list or the audit log's JSON would end in a database error (a 500). Forms
already refuse NUL in what is typed (Django's ProhibitNullCharactersValidator); this covers
the URL parameters of every page, export and API list in one place.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            message = _("The address contains a NUL character (%00), which no parameter may contain. Remove it.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)

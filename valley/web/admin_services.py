"""What every app's admin needs when its saves go through services: a domain error comes back as a
message instead of an error page, and the admin's own copy of a record becomes the row a service wrote."""

from django.contrib import messages
from django.http import HttpResponseRedirect

from valley.core.errors import DomainError


def adopt_saved(obj, saved) -> None:
    """Make the admin's own copy of the record (`obj`, which the admin logs and redirects to, and which
    its inline formsets point at) the row the service wrote."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding, obj._state.db = False, saved._state.db


class ServiceErrorsAsMessagesMixin:
    """A rule a service enforces beyond the form (a race lost to another staff member, a record that came
    to rest under an exemption) rolls the change back and comes back as a message on the same page, never
    as an error page."""

    def _as_message(self, request, view, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._as_message(request, super().changeform_view, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._as_message(request, super().delete_view, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        return self._as_message(request, super().changelist_view, extra_context)

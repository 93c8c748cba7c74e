"""What every app's REST API shares: who may write, how domain errors answer, how money and staff-only
fields look. The viewsets themselves live in each app's `api.py`; `valley/api.py` mounts them."""

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from valley.core import roles
from valley.core.errors import DomainError, Forbidden, WrongState
from valley.web.admin_lists import EstimatedCountPaginator
from valley.web.middleware import DATABASE_ERRORS


def exception_handler(exc, context):
    """DRF's handler, plus the domain's errors: forbidden → 403, wrong state → 409, a broken rule → 400.

    The body is {"detail": message}, the message already translated by the service that raised it."""
    if isinstance(exc, DomainError):
        if isinstance(exc, Forbidden):
            code = status.HTTP_403_FORBIDDEN
        elif isinstance(exc, WrongState):
            code = status.HTTP_409_CONFLICT
        else:
            code = status.HTTP_400_BAD_REQUEST
        return Response({"detail": exc.message}, status=code)
    if isinstance(exc, DATABASE_ERRORS):
        from valley.web.middleware import RETRY_AFTER_SECONDS, database_unavailable_message

        return Response(
            {"detail": database_unavailable_message()},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        # Django's get_object_or_404 says "No Application matches the given query." in English, whatever the
        # reader's language, and names the model; DRF's own "Not found." is translated and names nothing.
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)


def sees_staff_fields(request) -> bool:
    """Staff and auditors see who did what and the internal notes; applicants see what the web pages show them."""
    user = getattr(request, "user", None)
    return user is not None and (roles.is_staff_member(user) or roles.is_auditor(user))


class StaffOnlyFieldsMixin:
    """Fields named in `Meta.staff_only_fields` are null for applicants (they stay in the schema as nullable)."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not sees_staff_fields(self.context.get("request")):
            for name in getattr(self.Meta, "staff_only_fields", ()):
                if name in data:
                    data[name] = None
        return data


@extend_schema_field(
    {
        "type": "string",
        "description": _(
            "Yuan with fen. Answers always have two decimals; requests may also use thousands commas (500,000.00)."
        ),
        "example": "500000.00",
    }
)
class YuanField(serializers.Field):
    """Yuan: read by valley.core.money.parse_yuan on the way in, a string with two decimals on the way out."""

    def to_internal_value(self, data):
        from valley.core.money import parse_yuan

        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            self.fail("invalid")
        if isinstance(data, float):
            data = repr(data)
        try:
            return parse_yuan(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def to_representation(self, value):
        return f"{value:.2f}"

    default_error_messages = {"invalid": _("Enter an amount in yuan, for example 500000 or 500,000.00.")}


@extend_schema_field({"type": "string", "nullable": True, "description": _("The user's e-mail address.")})
class UserEmailField(serializers.ReadOnlyField):
    """A user appears in the API only as an e-mail address (never names, passwords or tokens).

    Use with source="<relation>.email"; null when the relation is empty (the portal acted on schedule)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


# Answers every operation may give besides its success: documented once here, added to the schema by the hook below.
_ERROR_SCHEMA = {
    "type": "object",
    "description": _('{"detail": message} for refusals; {field: [messages]} for invalid input.'),
    "additionalProperties": True,
}
_ERROR_CODES = {
    "400": _("The input or a rule of the fund was refused; the answer says what to fix."),
    "401": _("Not signed in: send a session cookie or the header “Authorization: Token <key>”."),
    "403": _("Your role may not do this (auditors never change anything)."),
    "404": _("No such record, or not one you may see."),
    "406": _("None of the formats in the Accept header can be answered; ask for JSON."),
    "409": _("The record is not in a state that allows this."),
    "415": _("The body is not in a format the operation reads: send JSON."),
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the error answers of every operation."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            codes = ["400", "401", "403", "404", "406"] if method == "get" else list(_ERROR_CODES)
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": str(_ERROR_CODES[code]),
                        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
                    },
                )
    return result


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page-number pagination without COUNT(*) over a million rows on every page: `count` is exact
    up to valley.web.admin_lists.EXACT_COUNT_LIMIT and an estimate beyond (see EstimatedCountPaginator)."""

    django_paginator_class = EstimatedCountPaginator

"""Admin add forms prefilled from the URL (`/admin/teams/residency/add/?entity=12`) ignore values that
are not valid for their field.

Django's autocomplete widget looks the prefilled value up in the database as it renders, so a
`?entity=abc` would end in a ValueError (a 500) instead of an empty field.
"""

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models


class ValidInitialMixin:
    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue  # not a model field (e.g. `_changelist_filters`): Django handles it
            target = field.target_field if isinstance(field, models.ForeignKey) else field
            try:
                for item in value if isinstance(value, list) else [value]:
                    target.to_python(item)
            except (ValidationError, TypeError, ValueError):
                del initial[name]
        return initial

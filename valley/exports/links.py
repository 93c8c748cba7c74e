"""“Export this view”: links from a list page to the same rows as CSV and XLSX.

A list page names the export that holds its rows and the filters that make the page what it is (a work
queue's states, a fund); the query string the reader has set is carried over, keeping only the parameters
the export's FilterSet reads (so a page number or a sort order never becomes a refused filter)."""

from django.forms import MultiWidget
from django.http import QueryDict
from django.urls import reverse

from valley.core import roles
from valley.exports.engine import catalogue


def may_export(user) -> bool:
    return roles.is_auditor(user) or roles.is_staff_member(user)


def filter_parameters(export) -> set[str]:
    """The URL parameters the export's filters read: a date range's `<name>_after` and `<name>_before`."""
    if export.filterset_class is None:
        return set()
    names = {"header"}
    for name, form_field in export.filterset_class().form.fields.items():
        if isinstance(form_field.widget, MultiWidget):
            names.update(f"{name}_{suffix}" for suffix in form_field.widget.suffixes)
        else:
            names.add(name)
    return names


def view_links(*, request, name: str, fixed: dict | None = None) -> dict[str, str] | None:
    """{"csv": url, "xlsx": url} of the export `name` filtered like the page, or None if the reader may not
    export. `fixed` holds the page's own filters (a value or a list of values per parameter)."""
    export = catalogue().get(name)
    if export is None or not may_export(request.user):
        return None
    known = filter_parameters(export)
    query = QueryDict(mutable=True)
    for key in request.GET:
        if key in known:
            query.setlist(key, [value for value in request.GET.getlist(key) if value != ""])
    for key, value in (fixed or {}).items():
        query.setlist(key, [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)])
    suffix = f"?{query.urlencode()}" if query else ""
    return {
        "csv": reverse("export_download", args=[name]) + suffix,
        "xlsx": reverse("export_download_xlsx", args=[name]) + suffix,
    }

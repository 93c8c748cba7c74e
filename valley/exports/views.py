"""The export catalogue and the CSV downloads, for auditors and staff."""

from django.contrib.auth.decorators import login_required
from django.forms import MultiWidget, SelectMultiple
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from valley import audit
from valley.core import roles
from valley.exports import engine as csv_export


def _may_export(user) -> bool:
    return roles.is_auditor(user) or roles.is_staff_member(user)


@login_required
@require_GET
def export_list(request):
    if not _may_export(request.user):
        raise Http404
    readable = [export for export in csv_export.catalogue().values() if export.readable_by(request.user)]
    exports = sorted(readable, key=lambda export: str(export.label))
    return render(
        request,
        "valley/exports.html",
        {
            "exports": [(export, _filter_form(export, request)) for export in exports],
            "reads_audit_log": audit.may_read_log(request.user),
        },
    )


def _filter_form(export, request):
    """The export's filters as a form that downloads the filtered file; date ranges stay URL parameters,
    since their two inputs would share one label."""
    if export.filterset_class is None:
        return None
    form = export.filterset_class(request=request).form
    form.auto_id = f"id_{export.name}_%s"  # several forms on one page: keep every id unique
    for name, form_field in list(form.fields.items()):
        if isinstance(form_field.widget, MultiWidget):
            del form.fields[name]
        elif isinstance(form_field.widget, SelectMultiple):
            form_field.widget.attrs["size"] = min(len(form_field.choices), 13)  # every choice in sight
    return form if form.fields else None


@login_required
@require_GET
def export_download(request, name):
    export = csv_export.catalogue().get(name)
    if export is None:
        raise Http404
    if not _may_export(request.user) or not export.readable_by(request.user):
        # Refused as if it did not exist, and recorded: someone without the role tried to take the data.
        audit.record(action="export.csv", object_type="export", object_id=export.name, outcome="refused")
        raise Http404
    queryset = export.queryset(request.user)
    if export.filterset_class is not None:
        filterset = export.filterset_class(request.GET, queryset=queryset, request=request)
        if not filterset.is_valid():
            return render(
                request, "valley/export_filters_invalid.html", {"export": export, "filterset": filterset}, status=400
            )
        queryset = filterset.qs
    filters = {key: value for key, value in request.GET.items() if key != "header"}
    audit.record(
        action="export.csv", actor=request.user, object_type="export", object_id=export.name, after={"filters": filters}
    )
    return csv_export.response(export, queryset, machine_header=request.GET.get("header") == "machine")

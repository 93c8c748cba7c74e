"""The export catalogue and its downloads (CSV for programs, XLSX for spreadsheets), for auditors and staff."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.forms import SelectMultiple
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_filters.fields import DateRangeField

from valley import audit
from valley.exports import engine as csv_export
from valley.exports import xlsx
from valley.exports.links import may_export
from valley.web import replica


@login_required
@require_GET
def export_list(request):
    if not may_export(request.user):
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
    """The export's filters as a form that downloads the filtered file (both formats read the same names).
    A date range becomes two date inputs, `<name>_after` and `<name>_before`, each with its own label."""
    if export.filterset_class is None:
        return None
    filters_form = export.filterset_class(request=request).form
    form = forms.Form(auto_id=f"id_{export.name}_%s")  # several forms on one page: keep every id unique
    for name, form_field in filters_form.fields.items():
        if isinstance(form_field, DateRangeField):
            label = form_field.label
            form.fields[f"{name}_after"] = _date_field(_("%(label)s: from") % {"label": label})
            form.fields[f"{name}_before"] = _date_field(_("%(label)s: until") % {"label": label})
            continue
        if isinstance(form_field.widget, SelectMultiple):
            form_field.widget.attrs["size"] = min(len(form_field.choices), 13)  # every choice in sight
        form.fields[name] = form_field
    return form if form.fields else None


def _date_field(label) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


@login_required
@require_GET
def export_download(request, name):
    """The export as CSV, for programs."""
    return _download(request, name, csv_export.response, action="export.csv")


@login_required
@require_GET
def export_download_xlsx(request, name):
    """The same rows, filters, permissions and audit entry as the CSV, as a typed XLSX workbook."""
    return _download(request, name, xlsx.response, action="export.xlsx")


def _download(request, name, respond, *, action: str):
    export = csv_export.catalogue().get(name)
    if export is None:
        raise Http404
    if not may_export(request.user) or not export.readable_by(request.user):
        # Refused as if it did not exist, and recorded: someone without the role tried to take the data.
        audit.record(action=action, object_type="export", object_id=export.name, outcome="refused")
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
        action=action, actor=request.user, object_type="export", object_id=export.name, after={"filters": filters}
    )
    # The rows are read while the file streams, after the view: fixed now to where the router sends this view.
    queryset = replica.bound_to_read_alias(queryset)
    return respond(export, queryset, machine_header=request.GET.get("header") == "machine")

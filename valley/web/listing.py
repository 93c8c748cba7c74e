"""One way for every list page to be worked in: a search box, filters by name, sorting by a column, pages that
keep the query string, and "export this view" with the same filters.

A list view passes its queryset (already scoped to what the reader may see: filtering only narrows it), a
FilterSet — the one its export uses, so the page and the file read the same parameters — the filters it
shows, and the columns it may be sorted by. Then:

    listing = Listing(request, queryset, filterset_class=ApplicationFilter, shown=("q", "sub_venue"),
                      sorts={"amount": ("amount",)}, default_order=("-submitted_at", "-pk"), export="applications")

and its template has `{% list_controls listing %}` above the table, `{% sort_header listing "amount" label %}`
in the head and `{% include "includes/pagination.html" with page=listing.page %}` below.

Bad input never fails the page: a filter that does not read (a wrong date, a name nothing has) is left out and
its message shown next to its field; an unknown sort key is ignored (the default order is used). The page runs
a fixed number of queries: the count, the page's rows, and one per name list (a datalist) shown."""

from django import forms
from django.core.paginator import Paginator
from django.forms.utils import ErrorDict
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django_filters.fields import DateRangeField

from valley.exports.links import view_links
from valley.web.filters import _NamedChoiceField

PAGE_SIZE = 50
DATALIST_LIMIT = 500  # names offered while typing; any other name still filters when typed in full


class NameInput(forms.TextInput):
    """A text box for a name, offering the known names while typing (a <datalist>), so that the URL carries the
    name (太原) the reader chose, not an id."""

    def __init__(self, names: list[str], attrs=None):
        super().__init__(attrs)
        self.names = names

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id') or 'id_' + name}_names"
        box = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((text,) for text in self.names))
        return format_html('{}<datalist id="{}">{}</datalist>', box, list_id, options)


class _ControlsForm(forms.Form):
    """The shown filters as the reader typed them, with the FilterSet's messages: it never validates itself (the
    FilterSet did), so each message appears once, next to its field."""

    def __init__(self, *args, messages: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self._messages = messages

    def full_clean(self):
        self._errors = ErrorDict(self._messages)
        self.cleaned_data = {}


class Listing:
    """A list page's rows (`page`), its filter controls (`form`), its sort (`sort_key`, `descending`) and its
    export links (`export_links`)."""

    def __init__(
        self,
        request,
        queryset,
        *,
        filterset_class,
        shown: tuple[str, ...],
        sorts: dict[str, tuple[str, ...]],
        default_order: tuple[str, ...],
        export: str | None = None,
        fixed: dict | None = None,
        page_size: int = PAGE_SIZE,
    ):
        self.request = request
        data = request.GET
        self.filterset = filterset_class(data or None, queryset=queryset, request=request)
        rows = self.filterset.qs  # a filter whose value does not read is left out (its message is shown)
        sort = data.get("sort", "")
        key, descending = sort.removeprefix("-"), sort.startswith("-")
        if key in sorts:
            self.sort_key, self.descending = key, descending
            order = [f"-{name}" if descending else name for name in sorts[key]]
            order += [] if "pk" in sorts[key] else ["-pk" if descending else "pk"]  # a stable order across pages
        else:
            self.sort_key, self.descending = "", False
            order = list(default_order)
        self.page = Paginator(rows.order_by(*order), page_size).get_page(data.get("page"))
        self.form = self._controls(shown)
        self.export_links = view_links(request=request, name=export, fixed=fixed) if export else None

    @property
    def filtered(self) -> bool:
        """Whether the reader narrowed the list (so an empty page says "nothing matches", not "nothing yet")."""
        return any(self.request.GET.get(name) for name in self.form.fields)

    def _controls(self, shown: tuple[str, ...]) -> forms.Form:
        """The shown filters as a form: a date range becomes two date inputs (`<name>_after`, `<name>_before`,
        as the export reads them), a name a text box with the known names, a choice its own field."""
        source = self.filterset.form
        errors = source.errors if source.is_bound else {}
        fields, messages = {}, {}
        for name in shown:
            field = source.fields[name]
            if isinstance(field, DateRangeField):
                for suffix, words in (("after", _("%(label)s: from")), ("before", _("%(label)s: until"))):
                    fields[f"{name}_{suffix}"] = forms.CharField(
                        label=words % {"label": field.label},
                        required=False,
                        widget=forms.DateInput(attrs={"type": "date"}),
                    )
                if name in errors:
                    messages[f"{name}_after"] = errors[name]
                continue
            if isinstance(field, _NamedChoiceField):
                names = [field.label_from_instance(obj) for obj in field.queryset[:DATALIST_LIMIT]]
                fields[name] = forms.CharField(label=field.label, required=False, widget=NameInput(sorted(names)))
            elif isinstance(field, forms.CharField):
                fields[name] = forms.CharField(
                    label=field.label, required=False, widget=forms.TextInput(attrs={"type": "search"})
                )
            else:
                fields[name] = field
            if name in errors:
                messages[name] = errors[name]
        form = _ControlsForm(self.request.GET or None, messages=messages, auto_id="id_list_%s")
        form.fields = fields
        return form

    def sort_url(self, key: str) -> str:
        """The page sorted by `key`: ascending first, then the other way; back to page one."""
        query = self.request.GET.copy()
        query.pop("page", None)
        query["sort"] = f"-{key}" if key == self.sort_key and not self.descending else key
        return f"?{query.urlencode()}"

    def aria_sort(self, key: str) -> str:
        if key != self.sort_key:
            return "none"
        return "descending" if self.descending else "ascending"

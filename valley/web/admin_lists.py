"""Admin changelists that stay fast over million-row tables.

Django's stock changelist counts every row twice per page (the paginator's count and, unless
`show_full_result_count = False`, the unfiltered total), and `date_hierarchy` or a list filter on a
plain field runs SELECT DISTINCT over the whole table. The admins of the big tables (applications,
their history, investments and their parties) use the pieces below instead; each costs a bounded
amount of work whatever the table's size.
"""

import json

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext

# Django's own message (translated by the admin's catalogue); a variable, so makemessages leaves it there.
SELECT_FOR_ACTION = "Select this object for an action - {}"

# Up to this many matching rows a list shows its exact count; beyond, an estimate.
EXACT_COUNT_LIMIT = 10_000


def _planner_estimate(queryset) -> int:
    """PostgreSQL's row estimate for the query (EXPLAIN, nothing read), or 0 if it cannot tell."""
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _table_estimate(queryset) -> int:
    """pg_class.reltuples for the model's table (kept by VACUUM/ANALYZE), or -1 if never analysed."""
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row else -1


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT rows, and estimates beyond that.

    On PostgreSQL an unfiltered list takes the table's size from pg_class.reltuples (one catalogue
    lookup instead of COUNT(*) over a million rows); a filtered one counts at most
    EXACT_COUNT_LIMIT + 1 matching rows (SELECT count(*) FROM (… LIMIT n)) and, when there are more,
    takes the planner's estimate. Pages past an estimate's real end show the last page's error
    message, as any out-of-range page does. Other databases count exactly (tests, development).
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count()
        if not queryset.query.where:
            estimate = _table_estimate(queryset)
            if estimate > EXACT_COUNT_LIMIT:
                return estimate
        capped = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped
        return max(capped, _planner_estimate(queryset.order_by()))


PK_PLACEHOLDER = "__pk__"


class FastChangeList(ChangeList):
    """Django's ChangeList, with each row's link made from one reverse() per page instead of one per row."""

    @cached_property
    def _change_url_template(self) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(PK_PLACEHOLDER,),
            current_app=self.model_admin.admin_site.name,
        )

    def url_for_result(self, result):
        pk = getattr(result, self.pk_attname)
        if not isinstance(pk, int):  # other keys go through Django's quoting
            return super().url_for_result(result)
        return self._change_url_template.replace(PK_PLACEHOLDER, str(pk), 1)


class LargeTableAdminMixin:
    """For a ModelAdmin over a table with up to millions of rows."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False  # no second COUNT(*) of the whole table for "(N total)"
    # Django's 100 rows, as the stock admin shows: fewer rows would be cheaper to render, but staff
    # asked for nothing of the kind, and the benchmark compares like with like.
    list_per_page = 100

    def get_changelist(self, request, **kwargs):
        return FastChangeList

    def action_checkbox(self, obj):
        """The markup of ModelAdmin.action_checkbox, written directly: rendering the checkbox widget's
        template for each of 100 rows takes about a fifth of a changelist's time."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(gettext(SELECT_FOR_ACTION), str(obj)),
        )


def year_filter(field_name: str, title):
    """A list filter by year of a date field: the years come from MIN and MAX (two index lookups).

    Used instead of `date_hierarchy`, whose year links come from SELECT DISTINCT over every row.
    Needs an index whose first column is the field.
    """

    class YearFilter(admin.SimpleListFilter):
        parameter_name = f"{field_name}_year"

        def lookups(self, request, model_admin):
            bounds = model_admin.model._default_manager.aggregate(first=Min(field_name), last=Max(field_name))
            if bounds["first"] is None:
                return []
            return [(str(year), str(year)) for year in range(bounds["last"].year, bounds["first"].year - 1, -1)]

        def queryset(self, request, queryset):
            if self.value() and self.value().isdigit():
                return queryset.filter(**{f"{field_name}__year": int(self.value())})
            return queryset

    YearFilter.title = title
    return YearFilter

from django import template

from valley.exports.links import view_links

register = template.Library()


@register.inclusion_tag("includes/export_this_view.html", takes_context=True)
def export_this_view(context, name: str, fixed: dict | None = None):
    """`{% export_this_view "applications" page_filters %}`: the page's rows as CSV and XLSX, for staff and auditors."""
    return {"links": view_links(request=context["request"], name=name, fixed=fixed)}

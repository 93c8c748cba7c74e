from django import template

register = template.Library()


@register.inclusion_tag("includes/list_controls.html")
def list_controls(listing, label: str = ""):
    """`{% list_controls listing %}`: the list's search box and filters, and its "export this view" links."""
    return {"listing": listing, "form": listing.form, "links": listing.export_links, "label": label}


@register.inclusion_tag("includes/sort_header.html")
def sort_header(listing, key: str, label: str, css: str = ""):
    """`{% sort_header listing "amount" _("Amount") %}`: a column head that sorts the list by it (asc, then desc)."""
    return {"url": listing.sort_url(key), "aria_sort": listing.aria_sort(key), "label": label, "css": css}

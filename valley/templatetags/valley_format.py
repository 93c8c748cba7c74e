from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def yuan(value) -> str:
    """¥1,000,000.00: grouped thousands and exactly two decimals, the same in both languages."""
    if value is None or value == "":
        return "—"
    return f"¥{Decimal(value):,.2f}"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def amount(value) -> str:
    """1,000,000.00: an amount without the currency sign, for columns already headed "(yuan)"."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"

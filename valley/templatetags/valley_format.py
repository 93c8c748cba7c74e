from decimal import ROUND_HALF_UP, Decimal

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


@register.filter
def percent(value) -> str:
    """83.33%: a percentage rounded half-up to exactly two decimals; "—" for no value (no data).

    Also what mail and admin texts use, so that a rate reads the same everywhere."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"

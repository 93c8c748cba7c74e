"""{% load guides %}{% guide_url "fund" %}: the address of a service's guide (valley/guides)."""

from django import template

from valley import guides

register = template.Library()


@register.simple_tag
def guide_url(code: str) -> str:
    return guides.guide_url(code)

"""`{{ weekdays|get_item:hours.weekday }}`: a weekday's name on the booking's staff pages."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")

from django import template

from videotermin.checks.summary import network_summary

register = template.Library()
register.filter("network", network_summary)

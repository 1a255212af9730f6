from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChecksConfig(AppConfig):
    name = "videotermin.checks"
    verbose_name = _("Device and network checks")

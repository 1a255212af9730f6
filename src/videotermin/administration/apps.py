from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdministrationConfig(AppConfig):
    name = "videotermin.administration"
    verbose_name = _("Agency administration")

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "videotermin.monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        from videotermin.monitoring import logs

        logs.configure(settings.LOG_FORMAT)

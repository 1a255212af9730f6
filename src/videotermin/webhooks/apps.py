from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class WebhooksConfig(AppConfig):
    name = "videotermin.webhooks"
    verbose_name = pgettext_lazy("webhooks", "Webhooks")

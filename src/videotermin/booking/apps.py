from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "videotermin.booking"
    verbose_name = "Self-service booking"

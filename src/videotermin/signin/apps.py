from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigninConfig(AppConfig):
    name = "videotermin.signin"
    verbose_name = _("Sign-in")

    def ready(self) -> None:
        from videotermin.signin import receivers  # noqa: F401 (connects the signal handlers)

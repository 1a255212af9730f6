from django.urls import path, register_converter

from videotermin.agencies import views


class ColorsConverter:
    """Primary and text colour, `00526e-ffffff`."""

    regex = "[0-9a-f]{6}-[0-9a-f]{6}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ColorsConverter, "colors")

app_name = "look"
urlpatterns = [
    path("<colors:colors>.css", views.colors, name="colors"),
    path(
        "<colors:colors>/preview.css",
        views.colors,
        {"scope": ".look-preview"},
        name="preview_colors",
    ),
    path("logo/<str:digest>.<str:extension>", views.logo, name="logo"),
]

from django.urls import path

from videotermin.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.add, name="add"),
    path("<uuid:endpoint_id>/", views.change, name="endpoint"),
    path("<uuid:endpoint_id>/remove/", views.remove, name="remove"),
    path("<uuid:endpoint_id>/rotate/", views.rotate, name="rotate"),
    path("<uuid:endpoint_id>/test/", views.test, name="test"),
    path("<uuid:endpoint_id>/deliveries/", views.deliveries, name="deliveries"),
    path(
        "<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/replay/",
        views.replay,
        name="replay",
    ),
]

from django.urls import path

from videotermin.api import key_views

app_name = "api_keys"
urlpatterns = [
    path("", key_views.index, name="index"),
    path("new/", key_views.create, name="create"),
    path("<str:public_id>/rotate/", key_views.rotate, name="rotate"),
    path("<str:public_id>/revoke/", key_views.revoke, name="revoke"),
]

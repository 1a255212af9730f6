from django.urls import path

from videotermin.stats import views

app_name = "stats"
urlpatterns = [
    path("", views.index, name="index"),
    path("statistics.csv", views.export_csv, name="csv"),
    path("statistics.json", views.export_json, name="json"),
]

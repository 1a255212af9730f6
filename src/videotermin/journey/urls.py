from django.urls import path

app_name = "journey"
urlpatterns: list = []

from django.urls import path

from videotermin.journey import views

app_name = "journey"
urlpatterns = [
    path("", views.home, name="home"),
    path("leichte-sprache/", views.easy, name="easy"),
    path("leichte-sprache/<uuid:agency>/", views.easy_for_agency, name="easy_agency"),
    path("j/<str:token>/", views.link, name="link"),
    path("a/<uuid:participant>/", views.start, name="start"),
    path("a/<uuid:participant>/consent/", views.consent_view, name="consent"),
    path("a/<uuid:participant>/declined/", views.declined, name="declined"),
    path("a/<uuid:participant>/check/", views.check, name="check"),
    path("a/<uuid:participant>/check/result/", views.check_result, name="check_result"),
    path("a/<uuid:participant>/room/", views.room, name="room"),
    path("a/<uuid:participant>/withdraw/", views.withdraw, name="withdraw"),
    path("a/<uuid:participant>/withdrawn/", views.withdrawn, name="withdrawn"),
    path(
        "a/<uuid:participant>/leichte-sprache/", views.easy_for_participant, name="easy_participant"
    ),
    path("privacy/<uuid:agency>/<str:language>/", views.privacy, name="privacy"),
]

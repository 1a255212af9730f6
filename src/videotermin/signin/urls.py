"""allauth's views that staff sign-in uses, under /staff/, by allauth's own URL names.

Only these: no sign-up, no e-mail or password management of allauth's (administrators manage
accounts), no page to connect further provider accounts.
"""

from allauth.account import views as account_views
from allauth.socialaccount import views as social_views
from django.urls import include, path

from videotermin.staff.views import LoginView

urlpatterns = [
    path("login/", LoginView.as_view(), name="account_login"),
    path("logout/", account_views.logout, name="account_logout"),
    path("account/inactive/", account_views.account_inactive, name="account_inactive"),
    path("account/reauthenticate/", account_views.reauthenticate, name="account_reauthenticate"),
    path("second-factor/", include("allauth.mfa.urls")),
    path("sso/cancelled/", social_views.login_cancelled, name="socialaccount_login_cancelled"),
    path("sso/error/", social_views.login_error, name="socialaccount_login_error"),
    path("sso/", include("allauth.socialaccount.providers.openid_connect.urls")),
]

"""An agency that requires a second factor: its staff set one up before anything else."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from videotermin.lib.database_work import on_database
from videotermin.signin.services import second_factor_missing

# What somebody held by the policy may still do: set a factor up, confirm who they are, leave,
# and choose the language.
ALLOWED = {
    "mfa_index",
    "mfa_activate_totp",
    "mfa_add_webauthn",
    "mfa_list_webauthn",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "account_logout",
    "logout",
    "set_language",
    "jsi18n",
}


class SecondFactorPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        if not second_factor_missing(request.user, request.session):
            return None
        request.second_factor_required = True  # type: ignore[attr-defined]
        match = request.resolver_match
        if match is not None and match.url_name in ALLOWED:
            return None
        messages.warning(
            request,
            _("Your agency requires a second factor. Please set one up before you continue."),
        )
        return redirect("mfa_index")


class SecondFactorSocketMiddleware:
    """The same policy for WebSockets: somebody it holds connects as nobody."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        # Inside AuthMiddlewareStack: the user is known by now.
        user = scope.get("user")
        # Nobody signed in (every citizen's socket): no policy to ask the database about.
        signed_in = user is not None and user.is_authenticated
        if signed_in and await on_database(second_factor_missing)(user, scope.get("session")):
            scope = {**scope, "user": AnonymousUser()}
        return await self.inner(scope, receive, send)

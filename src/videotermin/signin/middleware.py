"""An agency that requires a second factor: its staff set one up before anything else."""

from collections.abc import Callable
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
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


class SocketSignIn:
    """Who opens a WebSocket: the browser's session (`scope["session"]`, with the cookies) and
    the user it signed in (`scope["user"]`, Django's own check of the session), as Channels'
    AuthMiddlewareStack gives them, and the same second-factor policy as for pages: somebody it
    holds connects as nobody.

    One trip to the database and one copy of the scope: a socket keeps its middlewares' copies
    as long as it is open, and Channels' stack made four and two trips for a staff member.
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        session = self.store(session_key=cookies.get(settings.SESSION_COOKIE_NAME))
        user = await on_database(signed_in)(session)
        scope = {**scope, "cookies": cookies, "session": session, "user": user}
        return await self.inner(scope, receive, send)


def signed_in(session) -> Any:
    """The user this browser session signed in, or AnonymousUser: nobody while the agency's
    second-factor policy holds them."""
    user = auth.get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    if user.is_authenticated and second_factor_missing(user, session):
        return AnonymousUser()
    return user

"""The invited person's page: choose a password with the link from the invitation e-mail."""

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from videotermin.administration import accounts
from videotermin.administration.rules import NotAllowed
from videotermin.agencies.models import StaffMember


@never_cache
def accept(request: HttpRequest, staff_id, token: str) -> HttpResponse:
    """Anyone with the link may open it; only a valid, unused, unexpired one sets a password."""
    staff = StaffMember.objects.select_related("user", "agency").filter(public_id=staff_id).first()
    # The page speaks the language the invitation was written in.
    with translation.override(staff.language if staff else translation.get_language()):
        if staff is None or not staff.user.is_active:
            return _invalid(request)
        if not accounts.invitation_tokens.check_token(staff.user, token):
            return _invalid(request)
        form = SetPasswordForm(staff.user, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                accounts.accept_invitation(staff, token, form.cleaned_data["new_password1"])
            except NotAllowed:
                return _invalid(request)
            except ValidationError as error:
                form.add_error("new_password1", error)
            else:
                messages.success(
                    request,
                    _("Your password is set. Sign in now with the user name %(username)s.")
                    % {"username": staff.user.get_username()},
                )
                return redirect("staff:login")
        context = {"form": form, "agency": staff.agency, "username": staff.user.get_username()}
        return render(request, "administration/invitation.html", context)


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "administration/invitation_invalid.html", status=410)

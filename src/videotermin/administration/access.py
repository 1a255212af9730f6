"""Who may administer an agency: its administrators, and only their own agency."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from videotermin.agencies.models import Agency, StaffMember
from videotermin.staff.views import staff_required


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in administrators of an agency only; a counselor gets 403 (and no link leads here)."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not administrator(request).is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def administrator(request: HttpRequest) -> StaffMember:
    return request.user.staff  # type: ignore[union-attr]


def agency_of(request: HttpRequest) -> Agency:
    """The one agency this administrator administers; every query starts from it."""
    return administrator(request).agency

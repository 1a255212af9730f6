"""Sign-ins, sign-outs and failed sign-ins of staff, recorded from Django's auth signals.

A failed sign-in is recorded only when the name typed is a staff account's, against that
account's agency and by the account's pseudonym: never the name typed, the password or the
address it came from.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from videotermin.audit.services import actor_ref, record


def _staff(user):
    """The user's StaffMember, or None (a superuser without an agency, an anonymous user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "staff", None)


@receiver(user_logged_in, dispatch_uid="audit.signed_in")
def signed_in(sender, request, user, **kwargs) -> None:
    staff = _staff(user)
    if staff is not None:
        record("auth.signed_in", agency=staff.agency, by=user)


@receiver(user_logged_out, dispatch_uid="audit.signed_out")
def signed_out(sender, request, user, **kwargs) -> None:
    staff = _staff(user)
    if staff is not None:
        record("auth.signed_out", agency=staff.agency, by=user)


def account_named(credentials: dict):
    """The staff account the typed credentials name, by username or (if unique) e-mail."""
    model = get_user_model()
    staff = model.objects.filter(staff__isnull=False).select_related("staff__agency")
    username = credentials.get(model.USERNAME_FIELD)
    if isinstance(username, str) and username:
        return staff.filter(**{model.USERNAME_FIELD: username}).first()
    email = credentials.get("email")
    if isinstance(email, str) and email:
        found = list(staff.filter(email__iexact=email)[:2])
        return found[0] if len(found) == 1 else None
    return None


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    user = account_named(credentials or {})
    if user is not None:
        record("auth.sign_in_failed", agency=user.staff.agency, account=actor_ref(user))

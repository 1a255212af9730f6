"""Every second factor added, removed or renewed is audited (allauth.mfa's signals)."""

from allauth.mfa import signals
from django.dispatch import receiver

from videotermin.agencies.models import StaffMember
from videotermin.audit import services as audit


def _record(action: str, user, authenticator) -> None:
    staff = StaffMember.objects.select_related("agency").filter(user=user).first()
    if staff is None:
        return
    # The type only: a secret, a code or a key's name never reaches the log.
    audit.record(action, agency=staff.agency, by=user, type=authenticator.type)


@receiver(signals.authenticator_added)
def second_factor_added(sender, request, user, authenticator, **kwargs) -> None:
    _record("signin.second_factor_added", user, authenticator)


@receiver(signals.authenticator_removed)
def second_factor_removed(sender, request, user, authenticator, **kwargs) -> None:
    _record("signin.second_factor_removed", user, authenticator)


@receiver(signals.authenticator_reset)
def second_factor_reset(sender, request, user, authenticator, **kwargs) -> None:
    _record("signin.second_factor_reset", user, authenticator)

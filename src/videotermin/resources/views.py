"""The agency administrator's view of the licence: each limit beside its use now. Read-only:
the operator sets the licence (`manage.py licence`)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from videotermin.administration.access import admin_required, agency_of
from videotermin.appointments.models import MAX_MEMBERS
from videotermin.resources import licences


@admin_required
def licence(request: HttpRequest) -> HttpResponse:
    agency = agency_of(request)
    report = licences.report(agency.pk)
    rows = [
        {
            "name": "seats",
            "label": _("Counselor seats"),
            "help": _("Active staff accounts that hold consultations: every role but analyst."),
            "use_label": _("in use"),
            "use": report.seats,
        },
        {
            "name": "concurrent",
            "label": _("Consultations at the same time"),
            "help": _("Consultations that have started and have somebody in the call."),
            "use_label": _("running now"),
            "use": report.concurrent,
        },
        {
            "name": "group",
            "label": _("People in one consultation"),
            "help": _("The counselor included."),
            "use_label": _("most in one appointment not yet over"),
            "use": report.group,
        },
    ]
    return render(
        request,
        "resources/licence.html",
        {
            "section": "licence",
            "report": report,
            "rows": rows,
            "max_members": MAX_MEMBERS,
        },
    )

"""The agency's consent text and privacy notice (A3): versions per language, a draft to edit,
preview and publish. consent.publishing holds the rules; these views only translate."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.forms import TextForm
from videotermin.appointments.services import NotAllowed
from videotermin.consent import publishing, services
from videotermin.consent.models import ConsentText


def _checked(kind: str, language: str) -> tuple[ConsentText.Kind, str]:
    """Only the kinds and languages there are; anything else is not a page."""
    if kind not in ConsentText.Kind.values or language not in publishing.languages():
        raise Http404
    return ConsentText.Kind(kind), language


def _names(kind: ConsentText.Kind, language: str) -> dict:
    return {"kind": kind, "kind_label": kind.label, "language_name": _language_name(language)}


def _language_name(language: str) -> str:
    return str(dict(settings.LANGUAGES)[language])


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    """Per kind and language: what citizens read now, the draft, and the earlier versions."""
    agency = agency_of(request)
    kinds = []
    for kind in ConsentText.Kind:
        rows = []
        for language in publishing.languages():
            shown = services.current(agency, kind, language)
            history = list(publishing.history(agency, kind, language))
            rows.append(
                {
                    "language": language,
                    "language_name": _language_name(language),
                    "shown": shown,
                    "shown_language_name": _language_name(shown.language)
                    if shown.language in publishing.languages()
                    else shown.language,
                    "default": shown.agency_id is None,
                    "draft": publishing.draft(agency, kind, language),
                    "history": history,
                }
            )
        kinds.append({"kind": kind, "label": kind.label, "rows": rows})
    return render(request, "administration/texts.html", {"kinds": kinds, "section": "texts"})


@admin_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    """Write the draft; a new draft starts from what citizens read now."""
    agency = agency_of(request)
    kind, language = _checked(kind, language)
    draft = publishing.draft(agency, kind, language)
    start = draft or services.current(agency, kind, language)
    form = TextForm(request.POST or None, initial={"title": start.title, "body": start.body})
    if request.method == "POST" and form.is_valid():
        try:
            publishing.save_draft(
                agency, kind=kind, language=language, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error("body", error)
        except NotAllowed as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The draft is saved. Citizens do not see it yet."))
            return redirect("administration:text_preview", kind, language)
    context = _names(kind, language) | {
        "form": form,
        "draft": draft,
        "language": language,
        "section": "texts",
    }
    return render(request, "administration/text_edit.html", context)


@admin_required
def preview(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    """The draft as citizens would see it, in its language."""
    agency = agency_of(request)
    kind, language = _checked(kind, language)
    draft = publishing.draft(agency, kind, language)
    if draft is None:
        raise Http404
    return _show(request, draft)


@admin_required
def version(request: HttpRequest, kind: str, language: str, version: int) -> HttpResponse:
    """One published version of the agency's own, as citizens saw it."""
    agency = agency_of(request)
    kind, language = _checked(kind, language)
    text = publishing.history(agency, kind, language).filter(version=version).first()
    if text is None:
        raise Http404
    return _show(request, text)


def _show(request: HttpRequest, text: ConsentText) -> HttpResponse:
    agency = agency_of(request)
    context = _names(ConsentText.Kind(text.kind), text.language) | {
        "agency": agency,
        "text": text,
        "paragraphs": services.paragraphs(text, agency),
    }
    return render(request, "administration/text_preview.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    """Ask once more, then publish the draft as the next version."""
    agency = agency_of(request)
    kind, language = _checked(kind, language)
    draft = publishing.draft(agency, kind, language)
    if draft is None:
        raise Http404
    if request.method == "POST":
        try:
            text = publishing.publish(
                agency,
                kind=kind,
                language=language,
                seen=request.POST.get("seen", ""),
                by=request.user,
            )
        except NotAllowed as error:
            messages.error(request, str(error))
            return redirect("administration:text_preview", kind, language)
        messages.success(
            request,
            _("Version %(version)s of the %(kind)s (%(language)s) is published.")
            % {"version": text.version, "kind": kind.label, "language": _language_name(language)},
        )
        return redirect("administration:texts")
    newest = publishing.history(agency, kind, language).first()
    context = _names(kind, language) | {
        "draft": draft,
        # What the administrator saw in the preview; publishing refuses if the draft changed.
        "seen": request.GET.get("seen") or draft.digest,
        "language": language,
        "next_version": (newest.version if newest else 0) + 1,
        "section": "texts",
    }
    return render(request, "administration/text_publish.html", context)


@admin_required
@require_POST
def discard(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    agency = agency_of(request)
    kind, language = _checked(kind, language)
    try:
        publishing.discard_draft(agency, kind=kind, language=language, by=request.user)
    except NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The draft is discarded."))
    return redirect("administration:texts")

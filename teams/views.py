"""Applicants' self-service pages: their teams and startups, members, achievements and documents.

Every object is looked up through a scoped selector, so another person's record is a 404, not a 403
(nobody learns which ids exist). The services do the writing and raise a DomainError (TeamsError) on a broken rule.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from teams import residency_requests, selectors, services
from teams.filters import EntityFilter
from teams.forms import AchievementEditForm, AchievementForm, DocumentForm, EntityForm, MemberForm, StageChangeForm
from teams.models import Achievement, Member, Residency
from valley.core.documents import download_response
from valley.core.errors import DomainError
from valley.web.listing import Listing

PAGE_SIZE = 20


def _editable_entity(request, pk):
    return get_object_or_404(selectors.entities_editable_by(request.user), pk=pk)


def _form_page(request, *, form, title, entity=None, submit=None, multipart=False):
    return render(
        request,
        "teams/form.html",
        {"form": form, "title": title, "entity": entity, "submit": submit or _("Save"), "multipart": multipart},
    )


def _apply(form, call):
    """Run a service; a domain error becomes a form error. Returns the result or None."""
    try:
        return call()
    except DomainError as error:
        form.add_error(None, error.message)
        return None


ENTITY_SORTS = {
    "name": ("name_zh",),
    "kind": ("kind",),
    "institution": ("institution__name_zh",),
    "focus_area": ("focus_area__code",),
    "members": ("member_count",),
    "achievements": ("achievement_count",),
}


@login_required
def entity_list(request):
    listing = Listing(
        request,
        selectors.entity_list_for_user(request.user),
        filterset_class=EntityFilter,
        shown=("q", "sub_venue", "institution", "kind", "created_at"),
        sorts=ENTITY_SORTS,
        default_order=("name_zh", "pk"),
        page_size=PAGE_SIZE,
        export="entities",
    )
    page = listing.page
    labels, in_chinese = dict(Residency.Status.choices), (get_language() or "zh").startswith("zh")
    for entity in page.object_list:
        entity.residency_label = labels.get(entity.residency_status, "")
        entity.residency_sub_venue = entity.residency_sub_venue_zh if in_chinese else entity.residency_sub_venue_en
    return render(
        request,
        "teams/entity_list.html",
        {"listing": listing, "page": page, "email_confirmed": request.user.email_confirmed_at is not None},
    )


@login_required
def entity_create(request):
    if request.user.email_confirmed_at is None:
        messages.warning(
            request, _("Confirm your e-mail address first: open the link in the mail we sent you, then try again.")
        )
        return redirect("teams:entity_list")
    form = EntityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        entity = _apply(form, lambda: services.entity_create(owner=request.user, **form.cleaned_data))
        if entity:
            messages.success(request, _("Saved. Now add the members and achievements."))
            return redirect(entity)
    return _form_page(request, form=form, title=_("New team or startup"))


@login_required
def entity_detail(request, pk):
    entity = get_object_or_404(selectors.entity_detail_for_user(request.user), pk=pk)
    is_owner = entity.owner_id == request.user.pk
    requests = residency_requests.residency_requests_of_entity(entity, request.user)
    has_active = any(residency.is_active for residency in entity.residencies.all())
    return render(
        request,
        "teams/entity_detail.html",
        {
            "entity": entity,
            "can_edit": selectors.user_may_edit_entity(request.user, entity),
            "registration": getattr(entity, "registration", None),
            "residency_requests": requests,
            # The applicant may ask for residency while not resident and with no request waiting.
            "may_request_residency": is_owner
            and not has_active
            and not any(r.status == r.Status.SUBMITTED for r in requests),
        },
    )


@login_required
def entity_edit(request, pk):
    entity = _editable_entity(request, pk)
    form = EntityForm(request.POST or None, instance=entity)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        # The ModelForm already copied the values onto `entity`; the service validates and saves them.
        if _apply(form, lambda: services.entity_update(entity=entity, by=request.user, **changed)):
            messages.success(request, _("Saved."))
            return redirect(entity)
    return _form_page(request, form=form, title=_("Edit the profile"), entity=entity)


@login_required
def member_create(request, pk):
    entity = _editable_entity(request, pk)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = _apply(form, lambda: services.member_add(entity=entity, by=request.user, **form.cleaned_data))
        if member:
            messages.success(request, _("Member added."))
            return redirect(entity)
    return _form_page(request, form=form, title=_("Add a member"), entity=entity)


@login_required
def member_edit(request, pk, member_pk):
    entity = _editable_entity(request, pk)
    member = get_object_or_404(Member, pk=member_pk, entity=entity)
    form = MemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if _apply(form, lambda: services.member_update(member=member, by=request.user, **changed)):
            messages.success(request, _("Saved."))
            return redirect(entity)
    return _form_page(request, form=form, title=_("Edit a member"), entity=entity)


@require_POST
@login_required
def member_delete(request, pk, member_pk):
    entity = _editable_entity(request, pk)
    member = get_object_or_404(Member, pk=member_pk, entity=entity)
    services.member_remove(member=member, by=request.user)
    messages.success(request, _("Member removed."))
    return redirect(entity)


@login_required
def achievement_create(request, pk):
    entity = _editable_entity(request, pk)
    form = AchievementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        achievement = _apply(
            form,
            lambda: services.achievement_create(
                entity=entity,
                by=request.user,
                title=data["title"],
                kind=data["kind"],
                description=data["description"],
                stage=data["stage"],
                on=data["stage_since"] or timezone.localdate(),
            ),
        )
        if achievement:
            messages.success(request, _("Achievement added."))
            return redirect(entity)
    return _form_page(request, form=form, title=_("Add an achievement"), entity=entity)


def _achievement(request, pk, achievement_pk):
    entity = _editable_entity(request, pk)
    return entity, get_object_or_404(Achievement, pk=achievement_pk, entity=entity)


@login_required
def achievement_edit(request, pk, achievement_pk):
    entity, achievement = _achievement(request, pk, achievement_pk)
    form = AchievementEditForm(request.POST or None, instance=achievement)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _apply(
            form,
            lambda: services.achievement_update(
                achievement=achievement,
                by=request.user,
                title=data["title"],
                kind=data["kind"],
                description=data["description"],
            ),
        ):
            messages.success(request, _("Saved."))
            return redirect(entity)
    return _form_page(request, form=form, title=_("Edit an achievement"), entity=entity)


@login_required
def achievement_stage(request, pk, achievement_pk):
    entity, achievement = _achievement(request, pk, achievement_pk)
    form = StageChangeForm(request.POST or None, initial={"to_stage": achievement.stage})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _apply(
            form,
            lambda: services.achievement_change_stage(
                achievement=achievement,
                to_stage=data["to_stage"],
                on=data["changed_on"],
                by=request.user,
                note=data["note"],
            ),
        ):
            messages.success(request, _("The stage change is recorded."))
            return redirect(entity)
    title = _("Change the stage of “%(title)s”") % {"title": achievement.title}
    return _form_page(request, form=form, title=title, entity=entity)


@login_required
def document_upload(request, pk):
    entity = _editable_entity(request, pk)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _apply(
            form,
            lambda: services.document_upload(entity=entity, by=request.user, title=data["title"], upload=data["file"]),
        ):
            messages.success(request, _("Document uploaded."))
            return redirect(entity)
    return _form_page(
        request, form=form, title=_("Upload a document"), entity=entity, submit=_("Upload"), multipart=True
    )


@require_POST
@login_required
def document_delete(request, pk, document_pk):
    entity = _editable_entity(request, pk)
    document = get_object_or_404(entity.documents.all(), pk=document_pk)
    services.document_delete(document=document, by=request.user)
    messages.success(request, _("Document deleted."))
    return redirect(entity)


@login_required
def document_download(request, document_pk):
    """Serve a document to those who may see its entity; never from a public URL."""
    document = get_object_or_404(selectors.documents_for_user(request.user), pk=document_pk)
    return download_response(document.file, content_type=document.content_type, filename=document.original_name)

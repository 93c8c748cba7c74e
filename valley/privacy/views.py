"""The personal-data pages: the privacy notice, consenting to a new version, "my data" and account deletion.

The rules are in valley.privacy.services; these are the doors."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from valley.accounts.forms import DeletionRequestForm
from valley.core.workflow import WorkflowError
from valley.privacy import services as privacy


def notice(request):
    """The privacy notice in force, with each purpose's data and legal basis (public: read before sign-up)."""
    current = privacy.notice_current()
    if current is None:
        raise Http404(_("No privacy notice is in force yet."))
    return render(request, "privacy/notice.html", {"notice": current})


@login_required
def consent(request):
    """Read the notice in force and accept it (asked after login when a newer version came into force)."""
    current = privacy.notice_current()
    if current is None:
        raise Http404(_("No privacy notice is in force yet."))
    if request.method == "POST":
        privacy.consent_record(user=request.user, notice=current)
        request.session.pop(privacy.CONSENT_DUE_KEY, None)
        messages.success(
            request,
            _("Thank you: you accepted version %(version)s of the privacy notice.") % {"version": current.version},
        )
        return redirect("my_data")
    accepted = privacy.consent_due(request.user) is None
    return render(request, "privacy/consent.html", {"notice": current, "accepted": accepted})


@login_required
def my_data(request):
    user = request.user
    context = {
        "consents": user.consents.select_related("notice").order_by("-at"),
        "current": privacy.notice_current(),
        "deletion": privacy.deletion_open(user),
    }
    return render(request, "privacy/my_data.html", context)


@require_POST
@login_required
def my_data_download(request):
    content = privacy.data_export(user=request.user)
    response = HttpResponse(content, content_type="application/zip")
    name = f"valley-my-data-{timezone.localdate():%Y%m%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def account_delete(request):
    """Ask for the account's deletion (with the password again), or see the open request and cancel it."""
    user = request.user
    open_request = privacy.deletion_open(user)
    form = DeletionRequestForm(request.POST or None)
    if request.method == "POST" and open_request is None and form.is_valid():
        # Through authenticate(), so django-axes counts a wrong password like a failed login.
        checked = authenticate(request, username=user.email, password=form.cleaned_data["password"])
        if checked is None or checked.pk != user.pk:
            form.add_error("password", _("That password is not right."))
        else:
            try:
                created = privacy.deletion_request(user=user)
            except privacy.PrivacyError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Your account will be deleted on %(date)s unless you cancel before then.")
                    % {"date": date_format(created.due_on, "DATE_FORMAT")},
                )
                return redirect("account_delete")
    context = {
        "form": form,
        "open_request": open_request,
        "grace_days": settings.PRIVACY_DELETION_GRACE_WORKING_DAYS,
        "kept_years": settings.PRIVACY_GRANT_RECORDS_KEPT_YEARS,
    }
    return render(request, "privacy/delete.html", context)


@require_POST
@login_required
def account_delete_cancel(request):
    open_request = privacy.deletion_open(request.user)
    if open_request is None:
        messages.info(request, _("There is no open deletion request to cancel."))
        return redirect("account_delete")
    try:
        privacy.deletion_cancel(request=open_request, by=request.user)
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your deletion request is cancelled: your account stays as it is."))
    return redirect("account_delete")

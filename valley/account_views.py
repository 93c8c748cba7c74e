"""Sign-up and e-mail confirmation pages; the rules are in valley.accounts."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from valley import accounts
from valley.account_forms import SignUpForm


def signup(request):
    if request.user.is_authenticated:
        return redirect("teams:entity_list")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.user_sign_up(
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        except accounts.AccountError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("signup_done")
    return render(request, "registration/signup.html", {"form": form})


def signup_done(request):
    return render(request, "registration/signup_done.html")


def confirm_email(request, token):
    try:
        user = accounts.user_confirm_email(token=token)
    except accounts.AccountError as error:
        return render(request, "registration/confirm_failed.html", {"reason": error.message}, status=400)
    messages.success(request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
    return redirect("teams:entity_list" if request.user.is_authenticated else "login")


@require_POST
@login_required
def resend_confirmation(request):
    if request.user.email_confirmed_at is not None:
        messages.info(request, _("Your e-mail address is already confirmed."))
    else:
        accounts.user_send_confirmation(user=request.user)
        messages.success(
            request, _("We sent the confirmation mail again to %(email)s.") % {"email": request.user.email}
        )
    return redirect("teams:entity_list")

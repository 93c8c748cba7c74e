"""The account pages: sign-up, e-mail confirmation, the second factor and re-authentication.

The rules are in valley.accounts.services, .two_factor and .reauth; these are the doors."""

import base64
import io
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from valley.accounts import passwords, sessions, two_factor
from valley.accounts import services as accounts
from valley.accounts.forms import LoginForm, OTPTokenForm, OutboxPasswordResetForm, ReauthForm, SignUpForm
from valley.privacy import services as privacy


# Django's own views, with the portal's forms: tries left on the login page, reset mail through the outbox.
class LoginPage(auth_views.LoginView):
    authentication_form = LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        if getattr(form, "password_breaks_the_rules", False):
            self.request.session[passwords.CHANGE_REQUIRED_KEY] = True
        # A newer privacy notice than the one they accepted: a banner on every page asks them to read it.
        notice = privacy.consent_due(form.get_user())
        if notice is not None:
            self.request.session[privacy.CONSENT_DUE_KEY] = notice.version
        return response


class PasswordChange(auth_views.PasswordChangeView):
    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session.pop(passwords.CHANGE_REQUIRED_KEY, None)
        accounts.password_changed(user=form.user)
        return response


login_page = LoginPage.as_view()
password_change = PasswordChange.as_view()
password_reset = auth_views.PasswordResetView.as_view(form_class=OutboxPasswordResetForm)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        accounts.password_reset_completed(user=form.user)
        return response


password_reset_confirm = PasswordResetConfirm.as_view()
keepalive = sessions.keepalive


def signup(request):
    if request.user.is_authenticated:
        return redirect(settings.APPLICANT_HOME_URL)
    form = SignUpForm(request.POST or None)
    notice = privacy.notice_current()
    if request.method == "POST" and form.is_valid() and notice is None:
        form.add_error("accept_privacy", _("No privacy notice is in force yet, so sign-up is closed. Try again later."))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.user_sign_up(
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                privacy_notice=notice,
            )
        except accounts.AccountError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("signup_done")
    return render(request, "registration/signup.html", {"form": form, "notice": notice})


def signup_done(request):
    return render(request, "registration/signup_done.html")


def confirm_email(request, token):
    try:
        user = accounts.user_confirm_email(token=token)
    except accounts.AccountError as error:
        return render(request, "registration/confirm_failed.html", {"reason": error.message}, status=400)
    messages.success(request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
    return redirect(settings.APPLICANT_HOME_URL if request.user.is_authenticated else "login")


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
    return redirect(settings.APPLICANT_HOME_URL)


# ------------------------------------------------------------------ second factor


def _next_url(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@login_required
def two_factor_verify(request):
    """The code page after the password."""
    if not two_factor.requires_second_factor(request.user) or two_factor.is_verified(request.user):
        return redirect(_next_url(request, reverse("home")))
    if two_factor.confirmed_device(request.user) is None:
        return redirect(f"{reverse('two_factor_setup')}?next={quote(_next_url(request, ''))}")
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.verify_code(request, form.cleaned_data["token"]):
            return redirect(_next_url(request, reverse("home")))
        form.add_error(
            "token",
            _("That code is not right, or it was used already. Wait for the next code in your app and try again."),
        )
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request, "")})


def _qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    buffer = io.BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def two_factor_setup(request):
    """A first login without a device: show a new secret, confirm it with a code from the app."""
    user = request.user
    if not two_factor.requires_second_factor(user) or two_factor.confirmed_device(user) is not None:
        return redirect(f"{reverse('two_factor_verify')}?next={quote(_next_url(request, ''))}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.verify_code(request, form.cleaned_data["token"], device=device):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            return redirect(_next_url(request, reverse("home")))
        form.add_error(
            "token", _("That code is not right. Check that the app shows this portal's entry and try again.")
        )
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": device.config_url,
        "qr": _qr_svg(device.config_url),
        "next": _next_url(request, ""),
    }
    return render(request, "registration/two_factor_setup.html", context)


# ------------------------------------------------------------------ re-authentication


@login_required
def reauthenticate(request):
    """Password and a fresh code again; then back to where the person was going."""
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        # Through authenticate(), so django-axes counts a wrong password and the audit log records it.
        checked = authenticate(request, username=user.email, password=form.cleaned_data["password"])
        if checked is None or checked.pk != user.pk:
            form.add_error("password", _("That password is not right."))
        elif not two_factor.verify_code(request, form.cleaned_data["token"]):
            form.add_error(
                "token",
                _("That code is not right, or it was used already. Wait for the next code in your app and try again."),
            )
        else:
            return redirect(_next_url(request, reverse("home")))
    context = {"form": form, "next": _next_url(request, reverse("home")), "minutes": settings.REAUTH_MAX_AGE_MINUTES}
    return render(request, "registration/reauth.html", context)

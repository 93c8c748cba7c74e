from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from valley.accounts import passwords
from valley.messaging.mail import queue_mail
from valley.models import name_fields_in_reading_order


class LoginForm(AuthenticationForm):
    """Django's login form, saying how many tries are left before this account is paused from this address."""

    def clean(self):
        try:
            data = super().clean()
        except ValidationError:
            username = self.cleaned_data.get("username")
            if username and self.request is not None:
                # django-axes counted this failure while authenticate() ran, before the form raised.
                failures = AxesProxyHandler.get_failures(self.request, {"username": username})
                left = settings.AXES_FAILURE_LIMIT - failures
                if 0 < left < settings.AXES_FAILURE_LIMIT:
                    self.add_error(
                        None,
                        ngettext(
                            "%(left)d attempt left: then logins to this account from this address pause for "
                            "%(minutes)d minutes. Forgot your password? Reset it instead.",
                            "%(left)d attempts left: then logins to this account from this address pause for "
                            "%(minutes)d minutes. Forgot your password? Reset it instead.",
                            left,
                        )
                        % {"left": left, "minutes": settings.AXES_COOLOFF_MINUTES},
                    )
            raise
        # A password set before today's rules: the person is asked to change it now (see passwords.py).
        self.password_breaks_the_rules = passwords.breaks_the_rules(data.get("password") or "", self.get_user())
        return data


class OutboxPasswordResetForm(PasswordResetForm):
    """The reset link goes through the outbox like every other mail (sent by the worker, retried if Redis is
    down), and points at SITE_URL rather than whatever Host header the request came with."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        context = {**context, "site_url": settings.SITE_URL}
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        queue_mail(to=to_email, subject=subject, body=body)


class SignUpForm(forms.Form):
    email = forms.EmailField(label=_("e-mail address"), max_length=254)
    first_name = forms.CharField(label=_("given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("family name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    accept_privacy = forms.BooleanField(
        label=_("I have read the privacy notice and agree to the processing it describes"),
        error_messages={"required": _("Read the privacy notice and tick this box to sign up.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Asked in the order the reader writes a name: 姓 before 名 on the Chinese page.
        names = list(name_fields_in_reading_order())
        self.order_fields(["email", *names])

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise ValidationError(_("An account with this e-mail address already exists. Log in instead."))
        return email

    def clean(self):
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ. Type the same password twice."))
        elif password1:
            candidate = get_user_model()(
                email=data.get("email") or "",
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class OTPTokenForm(forms.Form):
    token = forms.CharField(
        label=_("six-digit code"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
        help_text=_("The code your authenticator app shows for the Valley Portal; it changes every 30 seconds."),
    )


class ReauthForm(OTPTokenForm):
    password = forms.CharField(
        label=_("password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    field_order = ["password", "token"]


class DeletionRequestForm(forms.Form):
    """Asking for the account's deletion: the password again, so a session left open cannot do it."""

    password = forms.CharField(
        label=_("your password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account will be closed and my name, e-mail address and phone replaced"),
        error_messages={"required": _("Tick this box to confirm the deletion.")},
    )

"""Signing in, in tests: the second factor and re-authentication (valley.accounts.two_factor and .reauth)."""

import time

from django.test import Client


def second_factor_device(user):
    """The user's confirmed TOTP device, made if missing (valley.accounts.two_factor)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_code(device, *, step: int = 0) -> str:
    """The device's code now (step=1: the next period's, which the device also accepts, for a second code
    within the same 30 seconds: a device never accepts the same code twice)."""

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + step * device.step
    return f"{totp.token():0{device.digits}d}"


_django_force_login = Client.force_login


def force_login_with_second_factor(self, user, backend=None):
    """`Client.force_login` skips the password; for staff, auditors and superusers it also counts as the
    second factor (a confirmed TOTP device in the session), so that tests of other matters keep their meaning.
    It does NOT count as a recent re-authentication: use the `reauthenticate` helper for that."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from valley.accounts.two_factor import requires_second_factor

    _django_force_login(self, user, backend)
    if requires_second_factor(user):
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = second_factor_device(user).persistent_id
        session.save()


def reauthenticate(client, *, minutes_ago: float = 0) -> None:
    """Record a re-authentication (password and code) in the client's session, `minutes_ago` minutes back."""

    from valley.accounts.reauth import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = time.time() - minutes_ago * 60
    session.save()

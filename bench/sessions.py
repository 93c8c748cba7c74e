"""Signed-in session cookies for the benchmarks, made without the login form.

Staff and auditors must pass the second factor (valley.accounts.two_factor) before any page answers them, so the
session also records a confirmed TOTP device, as a login with the code does. Needs Django set up, with the
same SECRET_KEY and database as the server that will read the cookie.
"""


def signed_in_cookie(user) -> str:
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client.cookies["sessionid"].value

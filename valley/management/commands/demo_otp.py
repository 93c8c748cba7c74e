import argparse
import time

from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from valley.demo import current_code

STEP = 30  # seconds per code: django-otp's TOTPDevice default, which the demo devices keep


def seconds_left(now: float) -> int:
    """Seconds until the code shown now is replaced by the next one."""
    return STEP - int(now) % STEP


class Command(BaseCommand):
    help = (
        "Print the current six-digit login code of a demo account's authenticator (demo databases only); "
        "with --watch, print each new code as it comes, like an authenticator app."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the account's e-mail address, e.g. staff@demo.valley.example.cn")
        parser.add_argument("--watch", action="store_true", help="keep printing each new code until Ctrl+C")
        # For tests: stop after this many codes instead of running until interrupted.
        parser.add_argument("--codes", type=int, default=0, help=argparse.SUPPRESS)

    def handle(self, *args, email, watch, codes, **options):
        device = TOTPDevice.objects.filter(user__email__iexact=email.strip(), name="demo", confirmed=True).first()
        if device is None:
            raise CommandError(f"{email} has no demo authenticator. Run `manage.py seed_demo` first.")
        if not watch:
            self.stdout.write(current_code(device.key))
            return
        shown = 0
        try:
            while True:
                now = time.time()
                left = seconds_left(now)
                self.stdout.write(f"{current_code(device.key, at=now)}  (valid for {left} more seconds)")
                self.stdout.flush()
                shown += 1
                if codes and shown >= codes:
                    return
                time.sleep(left + 0.05)  # just past the step, so the next code is the new one
        except KeyboardInterrupt:
            self.stdout.write("")

import time

from django.core.management.base import BaseCommand

from valley.demo import DEMO_TOTP_SECRET, current_code, demo_logins, demo_totp_key_hex
from valley.management.commands.demo_otp import seconds_left


class Command(BaseCommand):
    help = "Print the demo logins that seed_demo creates, and the demo two-factor code."

    def handle(self, *args, **options):
        self.stdout.write("\nDemo logins (all with the same password):")
        for label, email, password in demo_logins():
            self.stdout.write(f"  {label:<24} {email:<42} {password}")
        self.stdout.write(
            "\nStaff and auditors also enter a six-digit code after the password. Every demo account's"
            f"\nauthenticator has the secret {DEMO_TOTP_SECRET} (add it to an authenticator app), or print"
            "\nthe current code with `.venv/bin/python manage.py demo_otp staff@demo.valley.example.cn`"
            "\n(add --watch to see each new code as it comes, with the seconds it stays valid)."
            f"\nThe code right now: {current_code(demo_totp_key_hex())} (valid for {seconds_left(time.time())} more"
            " seconds; a new one comes every 30 seconds).\n"
        )

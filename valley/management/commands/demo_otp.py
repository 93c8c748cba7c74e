from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from valley.demo import current_code


class Command(BaseCommand):
    help = "Print the current six-digit login code of a demo account's authenticator (demo databases only)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="the account's e-mail address, e.g. staff@demo.valley.example.cn")

    def handle(self, *args, email, **options):
        device = TOTPDevice.objects.filter(user__email__iexact=email.strip(), name="demo", confirmed=True).first()
        if device is None:
            raise CommandError(f"{email} has no demo authenticator. Run `manage.py seed_demo` first.")
        self.stdout.write(current_code(device.key))

from django.core.management.base import BaseCommand

from valley.demo import demo_logins


class Command(BaseCommand):
    help = "Print the demo logins that seed_demo creates."

    def handle(self, *args, **options):
        self.stdout.write("\nDemo logins (all with the same password):")
        for label, email, password in demo_logins():
            self.stdout.write(f"  {label:<24} {email:<42} {password}")
        self.stdout.write("")

from django.core.management.base import BaseCommand

from valley.core.roles import ROLES, sync_roles


class Command(BaseCommand):
    help = "Create or update one group per role with exactly the permissions valley/roles.py gives it."

    def handle(self, *args, **options):
        for code, count in sync_roles().items():
            self.stdout.write(f"{code:<22} {ROLES[code].label}: {count} permissions")

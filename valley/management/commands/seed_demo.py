import importlib
import importlib.util

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from valley.roles import sync_roles

# Each app keeps its own demo data in <app>/demo.py with a seed(log) function; order matters.
DEMO_MODULES = ["valley.demo", "teams.demo", "funding.demo", "tolerance.demo"]


class Command(BaseCommand):
    help = "Load the demo valley (idempotent: running it again changes no counts)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production", action="store_true", help="Seed even when DEBUG is off (creates demo logins!)."
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to create demo users with DEBUG off. Pass --allow-production if this really is a demo."
            )
        sync_roles()
        # Demo texts written by the services (history notes, mail) in the portal's own language.
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
            for module_name in DEMO_MODULES:
                if importlib.util.find_spec(module_name) is None:
                    continue
                importlib.import_module(module_name).seed(log=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))

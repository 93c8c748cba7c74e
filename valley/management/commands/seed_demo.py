from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from valley.core.roles import sync_roles
from valley.ops.seeds import seeds


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
            for _label, seed in seeds():
                seed(log=lambda line: self.stdout.write(line))
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))

from django.core.management.base import BaseCommand, CommandError

from valley.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the database and the uploaded files (MEDIA_ROOT) into one tar archive with a manifest "
        "(row counts, audit chain head, migrations, media hashes). Restore it with restore_portal."
    )

    def add_arguments(self, parser):
        parser.add_argument("destination", help="a folder (a dated file name is made in it) or the archive's file name")

    def handle(self, *args, destination, **options):
        try:
            path, manifest = backup(destination)
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {len(manifest['counts'])} tables ({rows} rows), {len(manifest['media'])} media files and "
                f"the audit chain up to entry #{manifest['audit_head']['last_id']} into {path}"
            )
        )

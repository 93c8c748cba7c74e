from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from valley.ops.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore an archive made by backup_portal into the EMPTY database at DATABASE_URL and an empty MEDIA_ROOT, "
        "then check row counts, media hashes and the audit chain against its manifest. Exit status 1 on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="the .tar file made by backup_portal")

    def handle(self, *args, archive, **options):
        try:
            result = restore(Path(archive))
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {result.tables} tables ({result.rows} rows) and {result.media_files} media files; "
                f"counts and media match the backup, and the audit chain verifies ({result.audit_entries} entries)."
            )
        )

from django.core.management.base import BaseCommand, CommandError

from valley.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Seal the pending entries, then recompute the audit log's hash chain; name the first entry that "
        "does not fit. Exit status 1 if any."
    )

    def handle(self, *args, **options):
        check = verify_chain()
        if not check.ok:
            raise CommandError(
                f"The audit log is NOT intact: entry #{check.first_bad_id}: {check.problem}. "
                f"{check.entries} entries before it are intact."
            )
        pending = f" ({check.pending} written since, to be sealed)" if check.pending else ""
        self.stdout.write(self.style.SUCCESS(f"The audit log is intact: {check.entries} entries{pending}."))

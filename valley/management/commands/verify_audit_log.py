from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from valley.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Seal the pending entries, then recompute the audit log's hash chain; name the first entry that "
        "does not fit. Exit status 1 if any."
    )

    def handle(self, *args, **options):
        # Every line in one language: the problem comes translated from the chain check, so the frame does too.
        check = verify_chain()
        if not check.ok:
            raise CommandError(
                _(
                    "The audit log is NOT intact: entry #%(entry)s: %(problem)s. "
                    "%(entries)s entries before it are intact."
                )
                % {"entry": check.first_bad_id, "problem": check.problem, "entries": check.entries}
            )
        message = ngettext(
            "The audit log is intact: %(entries)s entry.",
            "The audit log is intact: %(entries)s entries.",
            check.entries,
        ) % {"entries": check.entries}
        if check.pending:
            message += " " + _("%(pending)s written since, to be sealed.") % {"pending": check.pending}
        self.stdout.write(self.style.SUCCESS(message))

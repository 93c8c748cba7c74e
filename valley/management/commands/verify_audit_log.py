from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from valley.audit import anchors, verify_chain


class Command(BaseCommand):
    help = (
        "Seal the pending entries, then recompute the audit log's hash chain and compare it with every anchor "
        "in AUDIT_ANCHOR_DIR; name the first entry or anchor that does not fit. Exit status 1 if any."
    )

    def handle(self, *args, **options):
        # Every line in one language: the problem comes translated from the chain check, so the frame does too.
        check = verify_chain()
        # The anchors too when the chain itself is broken: the auditor learns which anchored days still hold.
        anchored = anchors.verify_anchors()
        problems = []
        if not check.ok:
            problems.append(
                _(
                    "The audit log is NOT intact: entry #%(entry)s: %(problem)s. "
                    "%(entries)s entries before it are intact."
                )
                % {"entry": check.first_bad_id, "problem": check.problem, "entries": check.entries}
            )
        if not anchored.ok:
            # A chain recomputed end to end passes the walk above; only the anchor outside the database finds it.
            problems.append(
                _("The audit log does NOT match its anchor %(file)s (in %(folder)s): %(problem)s.")
                % {"file": anchored.file, "folder": anchors.anchor_dir(), "problem": anchored.problem}
            )
        if problems:
            raise CommandError(" ".join(problems))
        message = ngettext(
            "The audit log is intact: %(entries)s entry.",
            "The audit log is intact: %(entries)s entries.",
            check.entries,
        ) % {"entries": check.entries}
        if check.pending:
            message += " " + _("%(pending)s written since, to be sealed.") % {"pending": check.pending}
        if anchored.anchors:
            message += " " + ngettext(
                "It matches its %(anchors)s anchor.", "It matches its %(anchors)s anchors.", anchored.anchors
            ) % {"anchors": anchored.anchors}
        else:
            message += " " + _("There are no anchors in %(folder)s to compare it with.") % {
                "folder": anchors.anchor_dir()
            }
        if anchored.key_id:
            message += " " + ngettext(
                "%(signed)s anchor's SM2 signature verifies with key %(key_id)s.",
                "%(signed)s anchors' SM2 signatures verify with key %(key_id)s.",
                anchored.signed,
            ) % {"signed": anchored.signed, "key_id": anchored.key_id}
        elif anchored.anchors:
            message += " " + _("No SM2 public key is configured: the anchors' signatures were not checked.")
        self.stdout.write(self.style.SUCCESS(message))

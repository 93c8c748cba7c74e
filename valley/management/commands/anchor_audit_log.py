import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from valley.audit import anchors


class Command(BaseCommand):
    help = (
        "Seal the pending entries and write a day's anchor of the audit chain (AUDIT_ANCHOR_DIR/<date>.json), "
        "mailed to the auditors. A day's first anchor stands: an existing one is never replaced."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to anchor, YYYY-MM-DD (default: yesterday, Asia/Shanghai)")

    def handle(self, *args, date=None, **options):
        if date:
            try:
                day = datetime.date.fromisoformat(date)
            except ValueError:
                raise CommandError(_("“%(date)s” is not a date; write it as YYYY-MM-DD.") % {"date": date}) from None
        else:
            day = timezone.localdate() - datetime.timedelta(days=1)
        try:
            anchor = anchors.write_anchor(day)
        except anchors.AnchorExists:
            # Not an error: the day is anchored, which is what was asked.
            self.stdout.write(
                _("%(date)s already has its anchor (%(path)s); it stands and was not replaced.")
                % {"date": day.isoformat(), "path": anchors.anchor_path(day)}
            )
            return
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Anchored %(date)s at entry #%(entry)s (%(entries)s entries) in %(path)s; "
                    "mailed to %(auditors)s auditors."
                )
                % {
                    "date": day.isoformat(),
                    "entry": anchor.last_id,
                    "entries": anchor.entries,
                    "path": anchor.path,
                    "auditors": anchor.mailed,
                }
            )
        )

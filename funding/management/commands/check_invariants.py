from django.core.management.base import BaseCommand, CommandError

from funding.invariants import CHECKS, check_invariants


class Command(BaseCommand):
    help = (
        "Check the start-up fund's invariants over the whole database (budgets, instalments, releases on accepted "
        "fund-use reports and a passed final acceptance, plans, expense lines, recoveries and repayments, one "
        "grant per entity, complete history, the audit chain); print what was checked. Exit status 1 on any "
        "violation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--skip-audit", action="store_true", help="do not walk the audit log's hash chain")
        parser.add_argument("--limit", type=int, default=20, help="violations to print per check (default 20)")

    def handle(self, *args, skip_audit=False, limit=20, **options):
        report = check_invariants(audit=not skip_audit)
        width = max(len(name) for name in CHECKS)
        for name, description in CHECKS.items():
            if name not in report.checked:
                continue
            found = report.count(name)
            verdict = self.style.SUCCESS("ok") if not found else self.style.ERROR(f"{found} VIOLATION(S)")
            self.stdout.write(f"{name:<{width}}  {report.checked[name]:>9} checked  {verdict}  ({description})")
            for violation in [v for v in report.violations if v.check == name][:limit]:
                self.stdout.write(f"    {violation.subject}: {violation.detail}")
        if not report.ok:
            raise CommandError(f"{len(report.violations)} invariant violation(s).")
        self.stdout.write(self.style.SUCCESS("All invariants hold."))

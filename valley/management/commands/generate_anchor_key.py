import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from valley.audit import signing


class Command(BaseCommand):
    help = (
        "Make an SM2 key pair for signing the audit anchors: writes <name>.key (the private key, mode 0600) and "
        "<name>.pub (the public key) into a directory, never over existing files."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="where to write the two files (made if missing)")
        parser.add_argument("--name", default="audit-anchor-sm2", help="the files' name (default: audit-anchor-sm2)")

    def handle(self, *args, directory, name, **options):
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
        for path in (private_path, public_path):
            if path.exists():
                raise CommandError(_("%(path)s exists; a key is never overwritten.") % {"path": path})
        pair = signing.generate_keypair()
        # Created with mode 0600 from the start (O_EXCL: never over a file that appeared meanwhile).
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(pair.private + "\n")
        public_path.write_text(pair.public + "\n", encoding="utf-8")
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Wrote the private key to %(private)s and the public key (id %(key_id)s) to %(public)s.\n"
                    "On the host that writes the anchors (the Celery worker, and wherever anchor_audit_log runs):\n"
                    "  AUDIT_ANCHOR_SM2_PRIVATE_KEY_FILE=%(private)s\n"
                    "Wherever the anchors are verified (verify_audit_log, the web processes for /audit/check/):\n"
                    "  AUDIT_ANCHOR_SM2_PUBLIC_KEY_FILE=%(public)s\n"
                    "Keep a copy of the public key with the auditors, and the private key nowhere else."
                )
                % {"private": private_path, "public": public_path, "key_id": signing.key_id(pair.public)}
            )
        )

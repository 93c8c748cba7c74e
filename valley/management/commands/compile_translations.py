import sys
from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand


def locale_dirs() -> list[Path]:
    """The project's own catalogues: LOCALE_PATHS and the apps in this checkout (not installed packages,
    even when the virtual environment lives inside the checkout)."""
    base, environment = Path(settings.BASE_DIR).resolve(), Path(sys.prefix).resolve()
    dirs = [Path(path) for path in settings.LOCALE_PATHS]
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and not path.is_relative_to(environment):
            dirs.append(path / "locale")
    return [path for path in dirs if path.is_dir()]


class Command(BaseCommand):
    help = (
        "Compile every .po catalogue of the project to .mo. Pure Python (polib), so it works on a "
        "machine without GNU gettext; Django's compilemessages does the same where msgfmt exists."
    )

    def handle(self, *args, **options):
        compiled = 0
        for directory in locale_dirs():
            for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                compiled += 1
        self.stdout.write(f"compiled {compiled} translation catalogue(s)")

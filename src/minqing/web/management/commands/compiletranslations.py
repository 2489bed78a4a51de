"""Compile the message catalogues (``locale/*/LC_MESSAGES/django.po``) to ``.mo`` files:
the project's (LOCALE_PATHS) and each app's own ``<app>/locale``, which ``makemessages``
fills from that app's files.

Django's own ``compilemessages`` needs GNU gettext's ``msgfmt``; polib does the same in pure
Python, so a fresh checkout needs no system package. A catalogue is compiled only when its
``.po`` is newer than its ``.mo``, so ``./dev.sh`` can run this on every start.
"""

from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand


def catalogues() -> list[Path]:
    """Every ``.po`` of the project and of its own apps (not Django's, which ship compiled)."""
    dirs = [Path(d) for d in settings.LOCALE_PATHS]
    dirs += [
        Path(app.path) / "locale"
        for app in apps.get_app_configs()
        if app.name.startswith("minqing.")
    ]
    return sorted({po for d in dirs for po in d.glob("*/LC_MESSAGES/*.po")})


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po to .mo with polib (only those that changed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Compile every catalogue, changed or not."
        )

    def handle(self, *args, force: bool = False, **options):
        compiled = 0
        for po_path in catalogues():
            mo_path = po_path.with_suffix(".mo")
            if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            compiled += 1
            if options["verbosity"] >= 2:
                self.stdout.write(f"compiled {po_path}")
        self.stdout.write(f"compiletranslations: {compiled} catalogue(s) compiled")

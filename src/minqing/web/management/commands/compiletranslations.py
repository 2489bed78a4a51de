"""Compile the message catalogues (``locale/*/LC_MESSAGES/django.po``) to ``.mo`` files.

Django's own ``compilemessages`` needs GNU gettext's ``msgfmt``; polib does the same in pure
Python, so a fresh checkout needs no system package. A catalogue is compiled only when its
``.po`` is newer than its ``.mo``, so ``./dev.sh`` can run this on every start.
"""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po to .mo with polib (only those that changed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Compile every catalogue, changed or not."
        )

    def handle(self, *args, force: bool = False, **options):
        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if (
                    not force
                    and mo_path.exists()
                    and mo_path.stat().st_mtime >= po_path.stat().st_mtime
                ):
                    continue
                polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                compiled += 1
                if options["verbosity"] >= 2:
                    self.stdout.write(f"compiled {po_path}")
        self.stdout.write(f"compiletranslations: {compiled} catalogue(s) compiled")

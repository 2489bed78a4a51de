"""The ``minqing`` console script: Django's management commands under one name.

``minqing regions load``, ``minqing demo``, ``minqing runserver`` ... are ``manage.py`` commands.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    from django.core.management import execute_from_command_line

    from minqing.audit.context import origin

    # Writes made by a command are recorded as coming from the command line.
    with origin("command"):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

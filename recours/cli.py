"""The `recours` command: Django's manage commands under our name."""

import os
import sys
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured

# Exit status of a configuration error, as argparse uses for a usage error.
CONFIGURATION_ERROR_STATUS = 2


def exit_on_configuration_error(error: ImproperlyConfigured, status: int) -> NoReturn:
    """One line naming the variable and what it expects, not a traceback."""
    print(f"recours: configuration error: {error}", file=sys.stderr, flush=True)
    sys.exit(status)


def load_settings() -> None:
    """Read the settings now, so a bad variable stops the command at once."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading it loads the settings)
    except ImproperlyConfigured as error:
        exit_on_configuration_error(error, CONFIGURATION_ERROR_STATUS)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recours.settings")
    from django.core.management import execute_from_command_line

    load_settings()
    execute_from_command_line(["recours", *sys.argv[1:]])


if __name__ == "__main__":
    main()

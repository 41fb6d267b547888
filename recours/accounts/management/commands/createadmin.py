"""`recours createadmin`: the first platform administrator of a deployment."""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recours.accounts.actions import check_new_admin, create_admin
from recours.core.audit import Actor
from recours.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a platform administrator (staff and superuser, role admin). Creates "
        "the platform organization if there is none yet. Without --password, asks "
        "for it when run in a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--password",
            help="Avoid on shared machines (it shows in the process list); "
            "leave it out to be asked.",
        )
        parser.add_argument(
            "--org-slug",
            default="platform",
            help="Slug of the platform organization if it must be created "
            "(default: platform).",
        )
        parser.add_argument(
            "--org-name",
            default="Recours",
            help="Name of the platform organization if it must be created "
            "(default: Recours).",
        )

    def handle(
        self,
        *args,
        username: str,
        email: str,
        password: str | None,
        org_slug: str,
        org_name: str,
        **options,
    ) -> None:
        try:
            # Refuse a taken name or a bad address before asking for a password.
            check_new_admin(username, email)
            if password is None:
                password = self.ask_password()
            membership, created = create_admin(
                Actor.system("createadmin"),
                username,
                email,
                password,
                org_slug=org_slug,
                org_name=org_name,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        platform = membership.organization
        if created:
            self.stdout.write(f"Created the platform organization {platform.name!r}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the administrator {membership.user.get_username()!r} "
                f"of {platform.name}."
            )
        )

    def ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError(
                "No password: give --password, or run the command in a terminal "
                "to be asked for one."
            )
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        if not first:
            raise CommandError("The password must not be empty.")
        return first

"""`recours createadmin`: the first platform administrator of a deployment."""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from recours.accounts.models import Membership, Organization, Role
from recours.core.audit import Actor, record


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
        username, email = username.strip(), email.strip().lower()
        User = get_user_model()
        if not username:
            raise CommandError("--username must not be empty.")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"The user {username!r} already exists.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an e-mail address.") from None
        user = User(username=username, email=email, is_staff=True, is_superuser=True)
        password = password if password is not None else self.ask_password()
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(
                "Password refused: " + " ".join(error.messages)
            ) from None
        user.set_password(password)
        with transaction.atomic():
            platform, created = self.platform(org_slug, org_name)
            user.save()
            membership = Membership.objects.create(
                user=user, organization=platform, role=Role.ADMIN
            )
            record(
                Actor.system("createadmin"),
                "membership.created",
                membership,
                organization_id=platform.pk,
                data={"role": Role.ADMIN},
            )
        if created:
            self.stdout.write(f"Created the platform organization {platform.name!r}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the administrator {username!r} of {platform.name}."
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

    def platform(self, slug: str, name: str) -> tuple[Organization, bool]:
        """The deployment's one platform organization, created if missing."""
        existing = Organization.objects.filter(kind=Organization.Kind.PLATFORM).first()
        if existing is not None:
            return existing, False
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(
                f"An organization with the slug {slug!r} exists and is not the "
                "platform; choose another --org-slug."
            )
        platform = Organization.objects.create(
            name=name, slug=slug, kind=Organization.Kind.PLATFORM
        )
        return platform, True

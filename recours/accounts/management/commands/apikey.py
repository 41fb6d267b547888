"""Manage API keys: `recours apikey create|list|revoke`.

A key's secret is printed once, at creation; only its hash is stored.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from recours.accounts.actions import create_api_key, revoke_api_key
from recours.accounts.models import ApiKey, Organization
from recours.core.audit import Actor
from recours.core.errors import NotFound

ACTOR = Actor.system("cli:apikey")
NAME_LENGTH_MAX = 100  # ApiKey.name


def organization_with_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"No organization has the slug {slug!r}.")
    return organization


class Command(BaseCommand):
    help = "Create, list and revoke the API keys of organizations."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser(
            "create", help="create a key and print its secret once"
        )
        create.add_argument("--org", required=True, help="the organization's slug")
        create.add_argument("--name", required=True, help="what the key is for")
        listing = actions.add_parser("list", help="list keys by prefix")
        listing.add_argument("--org", help="only this organization's keys (slug)")
        revoke = actions.add_parser("revoke", help="revoke a key at once")
        revoke.add_argument("prefix", help="the key's prefix, as `list` shows it")

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "create":
            self.create(str(options["org"]), str(options["name"]))
        elif action == "list":
            self.list_keys(str(options["org"]) if options["org"] else None)
        else:
            self.revoke(str(options["prefix"]))

    def create(self, slug: str, name: str) -> None:
        name = name.strip()
        if not name or len(name) > NAME_LENGTH_MAX:
            raise CommandError(f"--name must have 1 to {NAME_LENGTH_MAX} characters.")
        organization = organization_with_slug(slug)
        key, secret = create_api_key(ACTOR, organization, name)
        # The secret alone on stdout, so a script can capture it; the rest on stderr.
        self.stderr.write(
            f"Created API key {key.prefix} ({key.name}) for {organization.name}.\n"
            "Store the secret below now: it is not stored and will not be shown again."
        )
        self.stdout.write(secret)

    def list_keys(self, slug: str | None) -> None:
        keys = ApiKey.objects.select_related("organization").order_by(
            "organization__slug", "created_at", "pk"
        )
        if slug is not None:
            keys = keys.filter(organization=organization_with_slug(slug))
        rows = [("PREFIX", "ORGANIZATION", "NAME", "CREATED", "LAST USED", "STATUS")]
        for key in keys:
            rows.append((
                key.prefix,
                key.organization.slug,
                key.name,
                moment(key.created_at),
                moment(key.last_used_at) if key.last_used_at else "never",
                f"revoked {moment(key.revoked_at)}" if key.revoked_at else "active",
            ))  # fmt: skip
        if len(rows) == 1:
            self.stderr.write("No API keys.")
            return
        widths = [
            max(len(row[column]) for row in rows) for column in range(len(rows[0]))
        ]
        for row in rows:
            line = "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
            self.stdout.write(line.rstrip())

    def revoke(self, prefix: str) -> None:
        try:
            key = revoke_api_key(ACTOR, prefix.strip())
        except NotFound as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Revoked API key {key.prefix} ({key.name}).")


def moment(value) -> str:  # type: ignore[no-untyped-def]
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")

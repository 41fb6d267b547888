"""Messages that ran out of attempts: `recours outbox failed|resend`.

`failed` lists them (never their bodies: access codes are in them);
`resend ID...` or `resend --all` queues them again for the worker.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recours.accounts.models import Organization
from recours.core.audit import Actor
from recours.core.errors import DomainError
from recours.notifications import actions
from recours.notifications.models import OutboxMessage

ACTOR = Actor.system("cli:outbox")
LIST_LIMIT = 200


def organization_id_of(slug: str | None) -> int | None:
    if not slug:
        return None
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"No organization has the slug {slug!r}.")
    return organization.pk


def describe(message: OutboxMessage) -> str:
    return (
        f"{message.pk}\t{message.about_reference or '-'}\t{message.channel}\t"
        f"{message.recipient}\t{message.attempts} attempt(s)\t{message.last_error[:80]}"
    )


class Command(BaseCommand):
    help = "List and re-send the outbox messages that ran out of attempts."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        failed = commands.add_parser("failed", help="list undelivered messages")
        failed.add_argument("--org", help="only this organization's (slug)")
        resend = commands.add_parser("resend", help="queue failed messages again")
        resend.add_argument("ids", nargs="*", type=int, help="message ids")
        resend.add_argument("--all", action="store_true", help="every failed one")
        resend.add_argument("--org", help="with --all: only this organization's")

    def handle(self, *args: object, **options: object) -> None:
        organization_id = organization_id_of(options["org"])  # type: ignore[arg-type]
        if options["action"] == "failed":
            self.list_failed(organization_id)
        elif options["all"]:
            if options["ids"]:
                raise CommandError("Give message ids or --all, not both.")
            self.resend_all(organization_id)
        elif options["ids"]:
            self.resend(list(options["ids"]), organization_id)  # type: ignore[call-overload]
        else:
            raise CommandError("Give message ids, or --all.")

    def list_failed(self, organization_id: int | None) -> None:
        failed = actions.failed_messages(organization_id)
        total = failed.count()
        for message in failed[:LIST_LIMIT]:
            self.stdout.write(describe(message))
        shown = min(total, LIST_LIMIT)
        self.stderr.write(f"{total} undelivered message(s), {shown} shown.")

    def resend_all(self, organization_id: int | None) -> None:
        queued = actions.resend_all(ACTOR, organization_id=organization_id)
        for message in queued:
            self.stdout.write(f"queued again: {describe(message)}")
        self.stdout.write(f"{len(queued)} message(s) queued again.")
        if len(queued) == actions.RESEND_BATCH_MAX:
            self.stdout.write("More may be left: run it again.")

    def resend(self, ids: list[int], organization_id: int | None) -> None:
        refused = []
        for message_id in ids:
            try:
                message = actions.resend(
                    ACTOR, message_id, organization_id=organization_id
                )
            except DomainError as error:
                refused.append(message_id)
                self.stderr.write(f"{message_id}: {error.message}")
                continue
            self.stdout.write(f"queued again: {describe(message)}")
        if refused:
            raise CommandError(
                f"{len(refused)} message(s) not queued: {', '.join(map(str, refused))}"
            )

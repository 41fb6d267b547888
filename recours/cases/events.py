"""Timeline lines of a case (append-only history), one function for all."""

from recours.cases.evidence import CheckedFile
from recours.cases.models import Attachment, Audience, Case, CaseEvent
from recours.core import clock
from recours.core.audit import Actor


def add_event(
    case: Case, actor: Actor, type: str, body: str = "", *, public: bool,
    data: dict | None = None, audience: str = "",
) -> CaseEvent:  # fmt: skip
    """A timeline line; a public one is for everyone (or, with audience
    CUSTOMER_PLATFORM, for the customer and the platform), else for
    `audience` (staff of the merchant and the platform by default)."""
    if public:
        audience = audience or Audience.EVERYONE
        assert audience in (Audience.EVERYONE, Audience.CUSTOMER_PLATFORM)
    else:
        audience = audience or Audience.STAFF
        assert audience in (Audience.STAFF, Audience.PLATFORM)
    return CaseEvent.objects.create(
        case=case,
        type=type,
        created_at=clock.now(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        body=body,
        is_public=public,
        audience=audience,
        data=data or {},
    )


def line_for(case: Case, actor: Actor, type: str, body: str, audience: str,
             data: dict | None = None) -> CaseEvent:  # fmt: skip
    """A line for any audience, public or not as the audience says."""
    public = audience in (Audience.EVERYONE, Audience.CUSTOMER_PLATFORM)
    return add_event(case, actor, type, body, public=public, audience=audience,
                     data=data)  # fmt: skip


def attach_files(case: Case, event: CaseEvent, files: list[CheckedFile]) -> None:
    """Store checked files as evidence on a timeline line."""
    for checked in files:
        Attachment.objects.create(
            case=case,
            event=event,
            file=checked.as_django_file(),
            original_name=checked.original_name,
            content_type=checked.content_type,
            size_bytes=len(checked.content),
            sha256=checked.sha256,
            uploaded_at=event.created_at,
        )

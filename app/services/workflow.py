"""The case workflow on cleartext metadata: status, assignee, priority, tags, deadlines.

Case officers and prosecutors of a tip's desk change these; nothing here reads or derives
anything from a tip's encrypted content. Every change is appended to the audit log with ids
and staff-set values only (never free text a colleague typed, which might quote a tip).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import (
    DeskMembership,
    StaffUser,
    TagKind,
    Tip,
    TipStatus,
    TipTag,
)
from app.services import audit, tips
from app.services.audit import AuditAction
from app.services.deadlines import feedback_due
from app.services.report_form import COMMODITIES, PLATFORM_TYPES, SPECIES_GROUPS, Choice

MAX_REASON_CHARS = 1000
PRIORITIES = {0: "normal", 1: "high", 2: "urgent"}
TAG_CHOICES: dict[TagKind, tuple[Choice, ...]] = {
    TagKind.SPECIES_GROUP: SPECIES_GROUPS,
    TagKind.COMMODITY: COMMODITIES,
    TagKind.PLATFORM_TYPE: PLATFORM_TYPES,
}
AWAITING_FEEDBACK = frozenset(
    {TipStatus.ACKNOWLEDGED, TipStatus.TRIAGED, TipStatus.INVESTIGATING, TipStatus.REFERRED}
)
# Forward along received → acknowledged → triaged → investigating/referred → feedback given →
# closed; a few steps back for real cases (a referral comes back, a closed case reopens).
TRANSITIONS: dict[TipStatus, frozenset[TipStatus]] = {
    TipStatus.RECEIVED: frozenset({TipStatus.ACKNOWLEDGED, TipStatus.TRIAGED, TipStatus.CLOSED}),
    TipStatus.ACKNOWLEDGED: frozenset(
        {
            TipStatus.TRIAGED,
            TipStatus.INVESTIGATING,
            TipStatus.REFERRED,
            TipStatus.FEEDBACK_GIVEN,
            TipStatus.CLOSED,
        }
    ),
    TipStatus.TRIAGED: frozenset(
        {TipStatus.INVESTIGATING, TipStatus.REFERRED, TipStatus.FEEDBACK_GIVEN, TipStatus.CLOSED}
    ),
    TipStatus.INVESTIGATING: frozenset(
        {TipStatus.TRIAGED, TipStatus.REFERRED, TipStatus.FEEDBACK_GIVEN, TipStatus.CLOSED}
    ),
    TipStatus.REFERRED: frozenset(
        {TipStatus.INVESTIGATING, TipStatus.FEEDBACK_GIVEN, TipStatus.CLOSED}
    ),
    TipStatus.FEEDBACK_GIVEN: frozenset(
        {TipStatus.INVESTIGATING, TipStatus.REFERRED, TipStatus.CLOSED}
    ),
    TipStatus.CLOSED: frozenset({TipStatus.INVESTIGATING}),
}


class ClosingOutcome(StrEnum):
    """Why a case was closed (stored in ``tips.outcome``); legal outcomes are separate rows."""

    ACTION_TAKEN = "action_taken"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    NOT_WILDLIFE_CRIME = "not_wildlife_crime"
    DUPLICATE = "duplicate"


class StatusChangeNotAllowed(InvalidInput):
    def __init__(self, current: TipStatus, wanted: TipStatus) -> None:
        super().__init__(
            f"A tip cannot go from '{current.value.replace('_', ' ')}' to "
            f"'{wanted.value.replace('_', ' ')}'."
        )


def _record(
    session: Session,
    tip: Tip,
    actor: StaffUser,
    action: AuditAction,
    now: datetime,
    **details: object,
) -> None:
    audit.record(
        session, action=action, now=now, actor_user_id=actor.id, tip_id=tip.id, details=details
    )


def change_status(
    session: Session,
    tip: Tip,
    actor: StaffUser,
    status: TipStatus,
    *,
    now: datetime,
    outcome: ClosingOutcome | None = None,
) -> None:
    """Move the tip along the workflow; acknowledging, feedback and closing set their days.

    :raises StatusChangeNotAllowed: not a step the workflow allows.
    :raises InvalidInput: closing without saying why.
    """
    today = now.date()
    previous = tip.status
    if status is previous:
        return
    if status not in TRANSITIONS[previous]:
        raise StatusChangeNotAllowed(previous, status)
    if status is TipStatus.CLOSED and outcome is None:
        raise InvalidInput("Say why the case is closed.")
    if tip.acknowledged_on is None and status is not TipStatus.CLOSED:
        # Every status past "received" tells the tipster the desk has the tip.
        tip.acknowledged_on = today
        tip.feedback_due_on = feedback_due(
            tip.received_on, today, extended=tip.feedback_extended_reason is not None
        )
    if status in (TipStatus.FEEDBACK_GIVEN, TipStatus.CLOSED) and tip.feedback_given_on is None:
        tip.feedback_given_on = today
    if status is TipStatus.CLOSED:
        tip.closed_on = today
        tip.outcome = outcome.value if outcome else None
    elif previous is TipStatus.CLOSED:
        tip.closed_on = None
        tip.outcome = None
    tip.status = status
    tips.touch(session, tip, tips.Change.WORKFLOW, today=now.date())
    _record(
        session,
        tip,
        actor,
        AuditAction.TIP_STATUS_CHANGED,
        now,
        **{"from": previous.value, "to": status.value, "outcome": tip.outcome},
    )
    session.flush()


def assignable_staff(session: Session, desk_id: int) -> list[StaffUser]:
    """Enabled prosecutors and officers of the desk, by name."""
    return list(
        session.scalars(
            select(StaffUser)
            .join(DeskMembership, DeskMembership.user_id == StaffUser.id)
            .where(DeskMembership.desk_id == desk_id, StaffUser.disabled.is_(False))
            .order_by(StaffUser.display_name)
        )
    )


def assign(
    session: Session, tip: Tip, actor: StaffUser, assignee_id: int | None, *, now: datetime
) -> None:
    """:raises InvalidInput: the assignee is not an enabled member of the tip's desk."""
    if assignee_id == tip.assignee_id:
        return
    if assignee_id is not None and assignee_id not in {
        user.id for user in assignable_staff(session, tip.desk_id)
    }:
        raise InvalidInput("Only an enabled member of the tip's desk can be assigned.")
    previous = tip.assignee_id
    tip.assignee_id = assignee_id
    _record(
        session, tip, actor, AuditAction.TIP_ASSIGNED, now, **{"from": previous, "to": assignee_id}
    )
    session.flush()


def set_priority(
    session: Session, tip: Tip, actor: StaffUser, priority: int, *, now: datetime
) -> None:
    """:raises InvalidInput: not one of ``PRIORITIES``."""
    if priority not in PRIORITIES:
        raise InvalidInput("Choose a priority from the list.")
    if priority == tip.priority:
        return
    previous = tip.priority
    tip.priority = priority
    _record(
        session,
        tip,
        actor,
        AuditAction.TIP_PRIORITY_CHANGED,
        now,
        **{"from": previous, "to": priority},
    )
    session.flush()


def tags_of(session: Session, tip_id: str) -> dict[TagKind, set[str]]:
    tags: dict[TagKind, set[str]] = {kind: set() for kind in TagKind}
    for row in session.scalars(select(TipTag).where(TipTag.tip_id == tip_id)):
        tags[row.kind].add(row.value)
    return tags


def set_tags(
    session: Session,
    tip: Tip,
    actor: StaffUser,
    wanted: Mapping[TagKind, Iterable[str]],
    *,
    now: datetime,
) -> None:
    """Replace the tip's staff tags of the given kinds (values from the form vocabularies).

    :raises InvalidInput: a value outside its vocabulary.
    """
    current = tags_of(session, tip.id)
    added: list[str] = []
    removed: list[str] = []
    for kind, values in wanted.items():
        allowed = {choice.value for choice in TAG_CHOICES[kind]}
        new = set(values)
        if not new <= allowed:
            raise InvalidInput("Choose tags from the lists.")
        for value in sorted(new - current[kind]):
            session.add(TipTag(tip_id=tip.id, kind=kind, value=value))
            added.append(f"{kind.value}:{value}")
        for value in sorted(current[kind] - new):
            session.execute(
                delete(TipTag).where(
                    TipTag.tip_id == tip.id, TipTag.kind == kind, TipTag.value == value
                )
            )
            removed.append(f"{kind.value}:{value}")
    if added or removed:
        _record(
            session, tip, actor, AuditAction.TIP_TAGS_CHANGED, now, added=added, removed=removed
        )
    session.flush()


def extend_feedback_deadline(
    session: Session, tip: Tip, actor: StaffUser, reason: str, *, now: datetime
) -> date:
    """Extend the feedback deadline to 6 months (EU 2019/1937 art. 11(2)(d)), once, with a reason.

    The reason is kept on the tip, not in the audit log (it is free text).

    :raises InvalidInput: no reason, too long, already extended, or feedback already given.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("An extension needs a recorded reason.")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    if tip.feedback_extended_reason is not None:
        raise InvalidInput("The feedback deadline was already extended to 6 months.")
    if tip.feedback_given_on is not None or tip.status is TipStatus.CLOSED:
        raise InvalidInput("Feedback was already given; there is no deadline to extend.")
    tip.feedback_extended_reason = reason
    tip.feedback_due_on = feedback_due(tip.received_on, tip.acknowledged_on, extended=True)
    tips.touch(session, tip, tips.Change.WORKFLOW, today=now.date())
    _record(
        session,
        tip,
        actor,
        AuditAction.TIP_FEEDBACK_EXTENDED,
        now,
        feedback_due_on=tip.feedback_due_on.isoformat(),
    )
    session.flush()
    return tip.feedback_due_on

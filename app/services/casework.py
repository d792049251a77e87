"""Platform preservation requests and legal outcomes of a tip (staff-entered metadata).

A preservation request (e.g. 18 U.S.C. §2703(f)) lasts 90 days from the day it was sent and
can be extended once by another 90; outcomes are what a reward claim cites.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import Outcome, OutcomeKind, PreservationRequest, StaffUser, Tip
from app.services import audit, tips
from app.services.audit import AuditAction
from app.services.deadlines import preservation_expires

MAX_PLATFORM_CHARS = 200
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9./_:#() -]{0,64}$")
KINDS_WITH_AMOUNT = frozenset({OutcomeKind.PENALTY, OutcomeKind.FORFEITURE})


def preservation_requests(session: Session, tip_id: str) -> list[PreservationRequest]:
    return list(
        session.scalars(
            select(PreservationRequest)
            .where(PreservationRequest.tip_id == tip_id)
            .order_by(PreservationRequest.sent_on, PreservationRequest.id)
        )
    )


def add_preservation_request(
    session: Session, tip: Tip, actor: StaffUser, *, platform: str, sent_on: date, now: datetime
) -> PreservationRequest:
    """:raises InvalidInput: no platform, or a day in the future or before the tip arrived."""
    platform = " ".join(platform.split())
    if not platform or len(platform) > MAX_PLATFORM_CHARS:
        raise InvalidInput(f"Name the platform (up to {MAX_PLATFORM_CHARS} characters).")
    if sent_on > now.date():
        raise InvalidInput("The day the request was sent cannot be in the future.")
    if sent_on < tip.received_on:
        raise InvalidInput("The request cannot predate the tip.")
    request = PreservationRequest(
        tip_id=tip.id,
        platform=platform,
        sent_on=sent_on,
        expires_on=preservation_expires(sent_on, extended=False),
        created_by=actor.id,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        action=AuditAction.PRESERVATION_REQUESTED,
        now=now,
        actor_user_id=actor.id,
        tip_id=tip.id,
        details={
            "request_id": request.id,
            "platform": platform,
            "sent_on": sent_on.isoformat(),
            "expires_on": request.expires_on.isoformat(),
        },
    )
    return request


def extend_preservation_request(
    session: Session, tip: Tip, actor: StaffUser, request_id: int, *, now: datetime
) -> PreservationRequest:
    """Record that the request was extended today (once; only while it still runs).

    :raises NotFound: not a request of this tip.
    :raises InvalidInput: already extended, or already expired (send a new one).
    """
    request = session.get(PreservationRequest, request_id)
    if request is None or request.tip_id != tip.id:
        raise NotFound("There is no such preservation request on this tip.")
    today = now.date()
    if request.extended_on is not None:
        raise InvalidInput("A preservation request can be extended only once.")
    if today > request.expires_on:
        raise InvalidInput("This request has expired; send the platform a new one.")
    request.extended_on = today
    request.expires_on = preservation_expires(request.sent_on, extended=True)
    audit.record(
        session,
        action=AuditAction.PRESERVATION_EXTENDED,
        now=now,
        actor_user_id=actor.id,
        tip_id=tip.id,
        details={"request_id": request.id, "expires_on": request.expires_on.isoformat()},
    )
    session.flush()
    return request


def outcomes(session: Session, tip_id: str) -> list[Outcome]:
    return list(
        session.scalars(
            select(Outcome)
            .where(Outcome.tip_id == tip_id)
            .order_by(Outcome.occurred_on, Outcome.id)
        )
    )


def parse_amount(amount_text: str, currency_text: str) -> tuple[Decimal | None, str | None]:
    """:raises InvalidInput: a malformed amount or currency, or one without the other."""
    amount_text = amount_text.strip().replace(",", "")
    currency = currency_text.strip().upper() or None
    if not amount_text and currency is None:
        return None, None
    if not amount_text or currency is None:
        raise InvalidInput("Give both an amount and its currency, or neither.")
    if not CURRENCY_PATTERN.match(currency):
        raise InvalidInput("A currency is a three-letter ISO 4217 code, e.g. KES or EUR.")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise InvalidInput("The amount is not a number.") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InvalidInput("The amount is out of range.")
    return amount.quantize(Decimal("0.01")), currency


def record_outcome(
    session: Session,
    tip: Tip,
    actor: StaffUser,
    *,
    kind: OutcomeKind,
    occurred_on: date,
    amount: Decimal | None,
    currency: str | None,
    reference_number: str,
    now: datetime,
) -> Outcome:
    """:raises InvalidInput: a future day, an amount on a kind without one, a bad reference."""
    if occurred_on > now.date():
        raise InvalidInput("An outcome's day cannot be in the future.")
    if amount is not None and kind not in KINDS_WITH_AMOUNT:
        raise InvalidInput("Only a penalty or a forfeiture has an amount.")
    reference_number = reference_number.strip()
    if not REFERENCE_PATTERN.match(reference_number):
        raise InvalidInput(
            "A reference number is up to 64 letters, digits and . / _ : # ( ) - only."
        )
    outcome = Outcome(
        tip_id=tip.id,
        kind=kind,
        occurred_on=occurred_on,
        amount=amount,
        currency=currency,
        reference_number=reference_number,
        recorded_by=actor.id,
    )
    session.add(outcome)
    session.flush()
    tips.touch(session, tip, tips.Change.WORKFLOW, today=now.date())
    audit.record(
        session,
        action=AuditAction.OUTCOME_RECORDED,
        now=now,
        actor_user_id=actor.id,
        tip_id=tip.id,
        details={
            "outcome_id": outcome.id,
            "kind": kind.value,
            "occurred_on": occurred_on.isoformat(),
            "amount": str(amount) if amount is not None else None,
            "currency": currency,
            "reference_number": reference_number,
        },
    )
    return outcome


def remove_outcome(
    session: Session, tip: Tip, actor: StaffUser, outcome_id: int, *, now: datetime
) -> None:
    """Remove an outcome recorded by mistake (the audit log keeps what it said).

    :raises NotFound: not an outcome of this tip.
    """
    outcome = session.get(Outcome, outcome_id)
    if outcome is None or outcome.tip_id != tip.id:
        raise NotFound("There is no such outcome on this tip.")
    session.delete(outcome)
    tips.touch(session, tip, tips.Change.WORKFLOW, today=now.date())
    audit.record(
        session,
        action=AuditAction.OUTCOME_REMOVED,
        now=now,
        actor_user_id=actor.id,
        tip_id=tip.id,
        details={"outcome_id": outcome_id, "kind": outcome.kind.value},
    )
    session.flush()

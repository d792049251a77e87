"""The daily digest: what needs doing today, per desk, as counts and tip reference numbers.

It names no tip content and no staff tags: only desk names, counts, short tip references and
days. The same digest is shown on the board and (``tipline digest send``) mailed over SMTP.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.config import SmtpConfig, SmtpSecurity
from app.models import (
    Desk,
    DeskMembership,
    DeskRecoveryKey,
    PreservationRequest,
    StaffRole,
    StaffUser,
    Tip,
    TipState,
)
from app.services.audit import chain_head

LISTED_PER_ITEM = 20
PRESERVATION_WARNING = timedelta(days=14)
WEEK = timedelta(days=7)
SMTP_TIMEOUT_SECONDS = 30


def tip_reference(tip_id: str) -> str:
    """The short reference staff use for a tip (its id's first 8 characters)."""
    return tip_id[:8]


@dataclass(frozen=True)
class DigestItem:
    label: str
    count: int
    references: list[str]  # at most LISTED_PER_ITEM, soonest first


@dataclass(frozen=True)
class DeskDigest:
    desk_name: str
    items: list[DigestItem]

    @property
    def total(self) -> int:
        return sum(item.count for item in self.items)


@dataclass(frozen=True)
class Digest:
    today: date
    desks: list[DeskDigest] = field(default_factory=list)
    # The audit log's size and head hash: mailed daily, it anchors the chain outside the
    # server (`tipline audit verify --expect-head`), so deleting recent events shows.
    audit_events: int = 0
    audit_head: str = ""

    @property
    def total(self) -> int:
        return sum(desk.total for desk in self.desks)


def _tips_item(
    session: Session, label: str, desk_id: int, *conditions: ColumnElement[bool]
) -> DigestItem:
    where = (Tip.desk_id == desk_id, Tip.state == TipState.SUBMITTED, *conditions)
    count = session.scalar(select(func.count()).select_from(Tip).where(*where)) or 0
    references = [
        tip_reference(tip_id)
        for tip_id in session.scalars(
            select(Tip.id).where(*where).order_by(Tip.next_due_on, Tip.id).limit(LISTED_PER_ITEM)
        )
    ]
    return DigestItem(label, count, references)


def _preservation_item(session: Session, desk_id: int, today: date) -> DigestItem:
    where = (
        Tip.desk_id == desk_id,
        PreservationRequest.expires_on >= today,
        PreservationRequest.expires_on <= today + PRESERVATION_WARNING,
    )
    joined = select(PreservationRequest.tip_id, PreservationRequest.expires_on).join(
        Tip, Tip.id == PreservationRequest.tip_id
    )
    count = (
        session.scalar(
            select(func.count())
            .select_from(PreservationRequest)
            .join(Tip, Tip.id == PreservationRequest.tip_id)
            .where(*where)
        )
        or 0
    )
    rows = session.execute(
        joined.where(*where)
        .order_by(PreservationRequest.expires_on, PreservationRequest.id)
        .limit(LISTED_PER_ITEM)
    )
    references = [
        f"{tip_reference(tip_id)} ({expires_on.isoformat()})" for tip_id, expires_on in rows
    ]
    return DigestItem("Preservation requests expiring within 14 days", count, references)


def desk_digest(session: Session, desk: Desk, today: date) -> DeskDigest:
    overdue = Tip.next_due_on < today
    return DeskDigest(
        desk_name=desk.name,
        items=[
            _tips_item(
                session, "Acknowledgements overdue", desk.id, overdue, Tip.acknowledged_on.is_(None)
            ),
            _tips_item(
                session, "Feedback overdue", desk.id, overdue, Tip.acknowledged_on.is_not(None)
            ),
            _tips_item(
                session,
                "Deadlines in the next 7 days",
                desk.id,
                Tip.next_due_on >= today,
                Tip.next_due_on <= today + WEEK,
            ),
            _preservation_item(session, desk.id, today),
            _waiting_readers_item(session, desk.id),
        ],
    )


def _waiting_readers_item(session: Session, desk_id: int) -> DigestItem:
    """Prosecutors and recovery keys added to the desk, waiting for a prosecutor of the desk to
    compare their fingerprint and approve them (app/services/approvals.py): counted, not named.
    """
    members = session.scalar(
        select(func.count())
        .select_from(DeskMembership)
        .join(StaffUser, StaffUser.id == DeskMembership.user_id)
        .where(
            DeskMembership.desk_id == desk_id,
            DeskMembership.approved_at.is_(None),
            StaffUser.role == StaffRole.PROSECUTOR,
            StaffUser.disabled.is_(False),
        )
    )
    keys = session.scalar(
        select(func.count())
        .select_from(DeskRecoveryKey)
        .where(DeskRecoveryKey.desk_id == desk_id, DeskRecoveryKey.approved_at.is_(None))
    )
    return DigestItem(
        "New readers waiting for a prosecutor's approval", (members or 0) + (keys or 0), []
    )


def build_digest(session: Session, today: date, desk_ids: Iterable[int] | None = None) -> Digest:
    """The digest of the given desks (every desk when None)."""
    query = select(Desk).order_by(Desk.name)
    if desk_ids is not None:
        query = query.where(Desk.id.in_(list(desk_ids)))
    count, head = chain_head(session)
    desks = [desk_digest(session, desk, today) for desk in session.scalars(query)]
    return Digest(today, desks, audit_events=count, audit_head=head.hex())


def digest_text(digest: Digest, board_url: str | None = None) -> str:
    """The digest as a plain-text email body."""
    lines = [f"Tipline daily digest for {digest.today.isoformat()}", ""]
    if not digest.desks:
        lines.append("There are no desks yet.")
    for desk in digest.desks:
        lines.append(desk.desk_name)
        lines.append("-" * len(desk.desk_name))
        for item in desk.items:
            lines.append(f"{item.label}: {item.count}")
            if item.references:
                more = item.count - len(item.references)
                listed = ", ".join(item.references)
                lines.append(f"  {listed}" + (f" and {more} more" if more > 0 else ""))
        lines.append("")
    if digest.audit_head:
        lines.append(
            f"Audit log: {digest.audit_events} events, head {digest.audit_head} "
            "(keep this mail: `tipline audit verify --expect-head` proves no event since was "
            "deleted)"
        )
    if board_url:
        lines.append(f"The board: {board_url}")
    lines.append("This message names no tip content; open the board to work on the tips.")
    return "\n".join(lines) + "\n"


def digest_message(digest: Digest, smtp: SmtpConfig, board_url: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Tipline digest {digest.today.isoformat()}: {digest.total} to do"
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message.set_content(digest_text(digest, board_url))
    return message


def send_digest(message: EmailMessage, smtp: SmtpConfig) -> None:
    """Deliver over SMTP (TLS, STARTTLS or, on a local relay, plain).

    :raises smtplib.SMTPException: / :raises OSError: the server refused or is unreachable.
    """
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security is SmtpSecurity.TLS:
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if smtp.security is SmtpSecurity.STARTTLS:
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)

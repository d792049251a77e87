"""The audit trail: an append-only, hash-chained log of every state-changing staff action.

``event_hash = BLAKE2b-256(prev_hash || canonical JSON of the event)`` (DESIGN §5 "Audit"), so
editing, deleting or reordering any entry breaks the chain from that entry on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AuditEvent


class AuditAction(StrEnum):
    """Every action the log records; the value is what the chain stores and hashes.

    Each is recorded by the service that performs the action, so the web, the command line
    and the demo seeding leave the same events (tests/services/test_audit_completeness.py).
    """

    # Staff accounts and sign-in
    STAFF_CREATED = "staff.created"
    STAFF_DISABLED = "staff.disabled"
    STAFF_SIGNED_IN = "staff.signed_in"
    STAFF_SIGN_IN_FAILED = "staff.sign_in_failed"
    STAFF_PASSWORD_CHANGED = "staff.password_changed"  # noqa: S105 (an action name, no secret)
    # Desks, their members and keys
    DESK_CREATED = "desk.created"
    DESK_UPDATED = "desk.updated"
    DESK_STATUS_TEXT_SET = "desk.status_text_set"
    DESK_GUIDANCE_SET = "desk.guidance_set"
    DESK_MEMBER_ADDED = "desk.member_added"
    DESK_MEMBER_REMOVED = "desk.member_removed"
    DESK_RECOVERY_KEY_ADDED = "desk.recovery_key_added"
    DESK_MEMBER_APPROVED = "desk.member_approved"
    DESK_RECOVERY_KEY_APPROVED = "desk.recovery_key_approved"
    DESK_KEYS_GRANTED = "desk.keys_granted"
    # Reading and answering a tip
    TIP_DECRYPTED = "tip.decrypted"
    FILE_DOWNLOADED = "file.downloaded"
    REPLY_SENT = "reply.sent"
    NOTE_ADDED = "note.added"
    # The workflow
    TIP_STATUS_CHANGED = "tip.status_changed"
    TIP_ASSIGNED = "tip.assigned"
    TIP_PRIORITY_CHANGED = "tip.priority_changed"
    TIP_TAGS_CHANGED = "tip.tags_changed"
    TIP_FEEDBACK_EXTENDED = "tip.feedback_extended"
    PRESERVATION_REQUESTED = "preservation.requested"
    PRESERVATION_EXTENDED = "preservation.extended"
    OUTCOME_RECORDED = "outcome.recorded"
    OUTCOME_REMOVED = "outcome.removed"
    # Retention
    TIP_KEYS_SHREDDED = "tip.keys_shredded"
    TIP_PURGED = "tip.purged"
    DRAFTS_PURGED = "drafts.purged"


GENESIS_HASH = bytes(32)
_POSTGRES_CHAIN_LOCK = 0x7419_0A0D  # any constant: serialises appends across app servers


def canonical_event(
    *,
    occurred_at: datetime,
    actor_user_id: int | None,
    action: str,
    tip_id: str | None,
    details: Mapping[str, Any],
) -> bytes:
    return json.dumps(
        {
            "occurred_at": occurred_at.isoformat(),
            "actor_user_id": actor_user_id,
            "action": action,
            "tip_id": tip_id,
            "details": dict(details),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def chain_hash(prev_hash: bytes, event: bytes) -> bytes:
    return hashlib.blake2b(prev_hash + event, digest_size=32).digest()


def record(
    session: Session,
    *,
    action: AuditAction,
    now: datetime,
    actor_user_id: int | None = None,
    tip_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; it commits with the caller's transaction (or not at all).

    ``details`` must never hold tip content: only ids, counts and staff-set metadata.
    ``actor_user_id`` is None for what the instance does itself (retention) and for the
    command line, which runs as whoever holds the server (``details["via"] == "cli"``).
    """
    action = AuditAction(action)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_CHAIN_LOCK})
    previous = session.scalar(select(AuditEvent.event_hash).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = previous if previous is not None else GENESIS_HASH
    details = dict(details or {})
    occurred_at = now.replace(microsecond=0)
    event = AuditEvent(
        occurred_at=occurred_at,
        actor_user_id=actor_user_id,
        action=action.value,
        tip_id=tip_id,
        details=details,
        prev_hash=prev_hash,
        event_hash=chain_hash(
            prev_hash,
            canonical_event(
                occurred_at=occurred_at,
                actor_user_id=actor_user_id,
                action=action.value,
                tip_id=tip_id,
                details=details,
            ),
        ),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    events_checked: int
    first_bad_event_id: int | None
    reason: str = ""
    head: bytes = GENESIS_HASH  # the last intact event's hash
    anchor_found: bool = True  # whether an expected earlier head is still in the chain

    @property
    def intact(self) -> bool:
        return self.first_bad_event_id is None and self.anchor_found


def chain_head(session: Session) -> tuple[int, bytes]:
    """(number of events, hash of the last): record it outside the server as an anchor.

    A chain alone cannot show that its newest events were deleted; an anchor taken earlier can
    (``verify_chain(expect_head=...)``): its hash must still be in the chain.
    """
    count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    head = session.scalar(select(AuditEvent.event_hash).order_by(AuditEvent.id.desc()).limit(1))
    return int(count), head if head is not None else GENESIS_HASH


def verify_chain(session: Session, expect_head: bytes | None = None) -> ChainCheck:
    """Walk the log in order; name the first event whose link or content does not hold.

    With ``expect_head`` (an anchor recorded earlier), also fail if no event has that hash:
    the events from there on were deleted, or the chain was rebuilt.
    """
    prev_hash = GENESIS_HASH
    checked = 0
    anchor_found = expect_head is None or expect_head == GENESIS_HASH
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if not hmac.compare_digest(event.prev_hash, prev_hash):
            return ChainCheck(checked, event.id, "its link to the previous event is broken")
        expected = chain_hash(
            prev_hash,
            canonical_event(
                occurred_at=event.occurred_at,
                actor_user_id=event.actor_user_id,
                action=event.action,
                tip_id=event.tip_id,
                details=event.details,
            ),
        )
        if not hmac.compare_digest(event.event_hash, expected):
            return ChainCheck(checked, event.id, "its content was changed", prev_hash)
        prev_hash = event.event_hash
        checked += 1
        if expect_head is not None and hmac.compare_digest(event.event_hash, expect_head):
            anchor_found = True
    return ChainCheck(checked, None, head=prev_hash, anchor_found=anchor_found)

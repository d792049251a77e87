"""Who may see and do what, decided once: roles, desk membership, the tips a user may reach.

Every staff view and service asks here (DESIGN §1, §2.4):

- **Roles.** Prosecutors read and answer tips (:data:`READERS`); prosecutors and case officers
  work the board and the inbox (:data:`CASE_WORKERS`); admins manage desks and accounts
  (:data:`ADMINS`). A role outside a page's set is refused with :class:`RoleNotAllowed`.
- **Desks.** A staff member reaches the tips of the desks they belong to, and no others;
  admins belong to none.
- **One answer for a tip outside your desks: "not found".** A tip of another desk, a draft and
  a tip that does not exist get the same :class:`TipNotOnYourDesks`, so the answer never
  confirms that a tip id exists (docs/THREAT_MODEL.md "Staff and tip ids" says why).

The tipster side has no roles: a tipster reaches exactly the one tip their code (or their
session, :mod:`app.services.tipster`) opens.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound, NotPermitted
from app.models import Desk, DeskMembership, StaffRole, StaffUser, Tip, TipState
from app.models.tips import UUID_LENGTH

READERS = frozenset({StaffRole.PROSECUTOR})
CASE_WORKERS = frozenset({StaffRole.PROSECUTOR, StaffRole.OFFICER})
ADMINS = frozenset({StaffRole.ADMIN})
EVERY_ROLE = frozenset(StaffRole)


class RoleNotAllowed(NotPermitted):
    code = "forbidden"

    def __init__(self, message: str = "Your role does not give access to this page.") -> None:
        super().__init__(message)


class TipNotOnYourDesks(NotFound):
    """Also raised for a tip that does not exist, or a draft: the answer never says which."""

    code = "not_found"

    def __init__(self) -> None:
        super().__init__("There is no tip with this reference on your desks.")


def require_role(user: StaffUser, allowed: Collection[StaffRole]) -> None:
    """:raises RoleNotAllowed: the user's role is not among ``allowed``."""
    if user.role not in allowed:
        raise RoleNotAllowed()


def member_desk_ids(session: Session, user_id: int) -> set[int]:
    """The desks a staff member belongs to (admins: none)."""
    return set(
        session.scalars(select(DeskMembership.desk_id).where(DeskMembership.user_id == user_id))
    )


def member_desks(session: Session, user_id: int) -> list[Desk]:
    """The desks a staff member belongs to, by name (what their inbox and board offer)."""
    return list(
        session.scalars(
            select(Desk)
            .join(DeskMembership, DeskMembership.desk_id == Desk.id)
            .where(DeskMembership.user_id == user_id)
            .order_by(Desk.name)
        )
    )


def staff_tip(session: Session, user: StaffUser, tip_id: str) -> Tip:
    """A submitted tip of one of the user's desks, in one indexed query.

    :raises TipNotOnYourDesks: no such tip, a draft, another desk's tip, or an admin asking
        (the same answer for each).
    """
    if user.role not in CASE_WORKERS or len(tip_id) != UUID_LENGTH:
        raise TipNotOnYourDesks()
    tip = session.scalar(
        select(Tip)
        .join(DeskMembership, DeskMembership.desk_id == Tip.desk_id)
        .where(
            Tip.id == tip_id,
            Tip.state == TipState.SUBMITTED,
            DeskMembership.user_id == user.id,
        )
    )
    if tip is None:
        raise TipNotOnYourDesks()
    return tip

"""Letting a newcomer read a desk's tips: the approvals page (prosecutors who read the desk).

Each waiting prosecutor or recovery key is shown with its key fingerprint; approving needs the
approver to confirm they compared it with the newcomer, and carries the key id that was shown,
so a key swapped meanwhile is refused (app/services/approvals.py).
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.context import get_db
from app.errors import InvalidInput
from app.services import access, approvals
from app.web.staff_auth import current_staff, now, staff_required

bp = Blueprint("approvals", __name__, url_prefix="/staff/approvals")

COMPARED = "compared"


def _confirmed() -> str:
    """The key id the approver was shown, once they confirm they compared its fingerprint.

    :raises InvalidInput: the confirmation box is not ticked.
    """
    if request.form.get(COMPARED) != "yes":
        raise InvalidInput(
            "Tick the box to confirm you compared the fingerprint with the newcomer, in person "
            "or by phone. Nothing was approved."
        )
    return request.form.get("key_id", "")


@bp.get("/")
@staff_required(access.READERS)
def index() -> ResponseReturnValue:
    session = get_db()
    context = current_staff()
    return render_template(
        "staff/approvals.html",
        waiting=approvals.waiting_readers(session, context),
        is_reader=bool(approvals.reader_desk_ids(session, context)),
        done=request.args.get("done"),
    )


@bp.post("/desks/<int:desk_id>/members/<int:user_id>")
@staff_required(access.READERS)
def approve_member(desk_id: int, user_id: int) -> ResponseReturnValue:
    approvals.approve_member(
        get_db(),
        current_staff(),
        desk_id=desk_id,
        user_id=user_id,
        compared_key_id=_confirmed(),
        now=now(),
    )
    return redirect(url_for("approvals.index", done="member"), code=303)


@bp.post("/desks/<int:desk_id>/recovery-keys/<int:recovery_key_id>")
@staff_required(access.READERS)
def approve_recovery_key(desk_id: int, recovery_key_id: int) -> ResponseReturnValue:
    approvals.approve_recovery_key(
        get_db(),
        current_staff(),
        desk_id=desk_id,
        recovery_key_id=recovery_key_id,
        compared_key_id=_confirmed(),
        now=now(),
    )
    return redirect(url_for("approvals.index", done="key"), code=303)

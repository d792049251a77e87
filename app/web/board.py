"""The case officers' board (officers and prosecutors): deadlines, the workflow of a tip,
preservation requests, outcomes, tags, statistics. Cleartext workflow metadata only: nothing
here opens a tip's content, so it needs no key and works the same for both roles.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from app.context import get_db
from app.errors import InvalidInput
from app.models import OutcomeKind, TagKind, Tip, TipStatus
from app.services import access, casework, stats, workflow
from app.services import board as board_service
from app.services.digest import build_digest
from app.web import params
from app.web.errors import form_refusal_status
from app.web.staff_auth import current_staff, staff_required

bp = Blueprint("board", __name__, url_prefix="/staff/board")


def now() -> datetime:
    return datetime.now(UTC)


def parse_day(text: str | None, what: str) -> date:
    """:raises InvalidInput: not a YYYY-MM-DD day."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput(f"Give the {what} as a day (YYYY-MM-DD).") from None


FILTER_REFUSED = "Unknown filter value; choose from the lists."


@bp.get("/")
@staff_required(access.CASE_WORKERS)
def index() -> ResponseReturnValue:
    user = current_staff().user
    session = get_db()
    today = now().date()
    view = params.choice_param(
        request.args,
        "view",
        board_service.BoardView,
        message="Unknown view; choose from the lists.",
    )
    filters = board_service.BoardFilter(
        view=view or board_service.BoardView.OVERDUE,
        desk_id=params.int_param(request.args, "desk", message=FILTER_REFUSED),
        assignee_id=params.int_param(request.args, "assignee", message=FILTER_REFUSED),
    )
    desk_ids = access.member_desk_ids(session, user.id)
    page = board_service.board_page(
        session,
        user.id,
        today=today,
        filters=filters,
        cursor=params.text_param(request.args, "after"),
    )
    colleagues = {
        member.id: member.display_name
        for desk_id in desk_ids
        for member in workflow.assignable_staff(session, desk_id)
    }
    return render_template(
        "board/index.html",
        page=page,
        filters=filters,
        views=list(board_service.BoardView),
        desks=access.member_desks(session, user.id),
        colleagues=sorted(colleagues.items(), key=lambda item: item[1]),
        unassigned=board_service.UNASSIGNED,
        digest=build_digest(session, today, desk_ids),
        me=user.id,
    )


def _tip(tip_id: str) -> Tip:
    return access.staff_tip(get_db(), current_staff().user, tip_id)


def _render_tip(tip: Tip, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    session = get_db()
    return (
        render_template(
            "board/tip.html",
            tip=tip,
            error=error,
            statuses=[tip.status, *sorted(workflow.TRANSITIONS[tip.status])],
            closing_outcomes=list(workflow.ClosingOutcome),
            colleagues=workflow.assignable_staff(session, tip.desk_id),
            priorities=workflow.PRIORITIES,
            tag_choices=workflow.TAG_CHOICES,
            tag_kinds=list(TagKind),
            tags=workflow.tags_of(session, tip.id),
            preservation=casework.preservation_requests(session, tip.id),
            outcomes=casework.outcomes(session, tip.id),
            outcome_kinds=list(OutcomeKind),
            today=now().date(),
        ),
        status,
    )


@bp.get("/tips/<uuid_text:tip_id>")
@staff_required(access.CASE_WORKERS)
def tip(tip_id: str) -> ResponseReturnValue:
    return _render_tip(_tip(tip_id))


def _change(tip_id: str, apply: Callable[[Tip], None]) -> ResponseReturnValue:
    """Run one change on the tip; a refused change re-renders the page with the reason."""
    tip = _tip(tip_id)
    try:
        apply(tip)
    except InvalidInput as error:
        status = form_refusal_status(error)
        return _render_tip(_tip(tip_id), error.message, status)
    return redirect(url_for("board.tip", tip_id=tip_id), code=303)


@bp.post("/tips/<uuid_text:tip_id>/status")
@staff_required(access.CASE_WORKERS)
def tip_status(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        refused = "Choose a status from the list."
        status = params.choice_param(request.form, "status", TipStatus, message=refused)
        if status is None:
            raise InvalidInput(refused)
        outcome = params.choice_param(
            request.form, "outcome", workflow.ClosingOutcome, message=refused
        )
        workflow.change_status(
            get_db(), tip, current_staff().user, status, now=now(), outcome=outcome
        )

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/assignee")
@staff_required(access.CASE_WORKERS)
def tip_assignee(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        assignee = params.int_param(
            request.form, "assignee", message="Choose a colleague from the list."
        )
        workflow.assign(get_db(), tip, current_staff().user, assignee or None, now=now())

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/priority")
@staff_required(access.CASE_WORKERS)
def tip_priority(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        refused = "Choose a priority from the list."
        priority = params.int_param(request.form, "priority", message=refused)
        if priority is None:
            raise InvalidInput(refused)
        workflow.set_priority(get_db(), tip, current_staff().user, priority, now=now())

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/tags")
@staff_required(access.CASE_WORKERS)
def tip_tags(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        wanted = {kind: request.form.getlist(kind.value) for kind in TagKind}
        workflow.set_tags(get_db(), tip, current_staff().user, wanted, now=now())

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/extension")
@params.multiline("reason")
@staff_required(access.CASE_WORKERS)
def tip_extension(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        workflow.extend_feedback_deadline(
            get_db(), tip, current_staff().user, request.form.get("reason", ""), now=now()
        )

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/preservation")
@staff_required(access.CASE_WORKERS)
def tip_preservation(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        casework.add_preservation_request(
            get_db(),
            tip,
            current_staff().user,
            platform=request.form.get("platform", ""),
            sent_on=parse_day(request.form.get("sent_on"), "day the request was sent"),
            now=now(),
        )

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/preservation/<int:request_id>/extend")
@staff_required(access.CASE_WORKERS)
def tip_preservation_extend(tip_id: str, request_id: int) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        casework.extend_preservation_request(
            get_db(), tip, current_staff().user, request_id, now=now()
        )

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/outcomes")
@staff_required(access.CASE_WORKERS)
def tip_outcome(tip_id: str) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        refused = "Choose an outcome from the list."
        kind = params.choice_param(request.form, "kind", OutcomeKind, message=refused)
        if kind is None:
            raise InvalidInput(refused)
        amount, currency = casework.parse_amount(
            request.form.get("amount", ""), request.form.get("currency", "")
        )
        casework.record_outcome(
            get_db(),
            tip,
            current_staff().user,
            kind=kind,
            occurred_on=parse_day(request.form.get("occurred_on"), "day of the outcome"),
            amount=amount,
            currency=currency,
            reference_number=request.form.get("reference_number", ""),
            now=now(),
        )

    return _change(tip_id, apply)


@bp.post("/tips/<uuid_text:tip_id>/outcomes/<int:outcome_id>/remove")
@staff_required(access.CASE_WORKERS)
def tip_outcome_remove(tip_id: str, outcome_id: int) -> ResponseReturnValue:
    def apply(tip: Tip) -> None:
        casework.remove_outcome(get_db(), tip, current_staff().user, outcome_id, now=now())

    return _change(tip_id, apply)


# --- Statistics (the user's desks; admins have theirs under /admin) --------------------------


def render_statistics(desk_ids: list[int] | None, csv_endpoint: str) -> ResponseReturnValue:
    # Current at every request: the roll-up costs desks x months (app.services.stats_rollup).
    figures = stats.statistics(get_db(), today=now().date(), desk_ids=desk_ids)
    return render_template(
        "board/stats.html",
        figures=figures,
        csv_url=url_for(csv_endpoint),
        status_rows=[(s.value.replace("_", " "), n) for s, n in figures.statuses.items()],
        outcome_rows=[(item.kind.value, item.count) for item in figures.outcomes],
    )


def csv_response(desk_ids: list[int] | None) -> Response:
    # The rows are read while the response streams, after the request's own session was
    # committed and closed: the download has a session of its own, closed when it ends.
    sessions: sessionmaker[Session] = current_app.extensions["tipline.sessions"]

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        with sessions() as session:
            for row in stats.workflow_rows(session, desk_ids):
                writer.writerow(row)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate(0)

    return Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="tipline-workflow.csv"'},
    )


@bp.get("/stats")
@staff_required(access.CASE_WORKERS)
def statistics() -> ResponseReturnValue:
    desk_ids = sorted(access.member_desk_ids(get_db(), current_staff().user.id))
    return render_statistics(desk_ids, "board.statistics_csv")


@bp.get("/stats.csv")
@staff_required(access.CASE_WORKERS)
def statistics_csv() -> Response:
    return csv_response(sorted(access.member_desk_ids(get_db(), current_staff().user.id)))

"""The admin area: desks, staff accounts, memberships, recovery keys, the audit log, instance
settings and statistics. Admins never see a tip's content, nor the per-tip board.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from app.context import get_config, get_db
from app.errors import DomainError, InvalidInput
from app.models import StaffRole, TipsterStatus
from app.services import access, administration, audit_log, desk_settings, desks, staff
from app.services.tipster import DEFAULT_STATUS_TEXTS
from app.web import params
from app.web.board import csv_response, render_statistics
from app.web.errors import form_refusal_status
from app.web.staff_auth import current_staff, staff_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

# User names and audit action names are at most 64 characters (their columns).
MAX_NAME_CHARS = 64


def guidance_for_form(desk_id: int) -> str | None:
    """The desk's guidance for the page's language, as cleaned HTML (for the report form)."""
    return desk_settings.guidance_html(get_db(), desk_id, str(get_locale() or "en"))


@bp.record_once
def _template_helpers(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals["desk_guidance"] = guidance_for_form


def now() -> datetime:
    return datetime.now(UTC)


def _day(name: str) -> date | None:
    return params.day_param(request.args, name, message="Give days as YYYY-MM-DD.")


@bp.get("/")
@staff_required(access.ADMINS)
def index() -> ResponseReturnValue:
    return render_template("admin/index.html")


# --- Desks ----------------------------------------------------------------------------------


@bp.get("/desks")
@staff_required(access.ADMINS)
def desk_list() -> ResponseReturnValue:
    return render_template("admin/desks.html", desks=desks.list_desks(get_db()), error=None)


@bp.post("/desks")
@staff_required(access.ADMINS)
def desk_create() -> ResponseReturnValue:
    session = get_db()
    try:
        desk = administration.create_desk(
            session,
            current_staff().user,
            slug=request.form.get("slug", ""),
            name=request.form.get("name", ""),
            country_codes=request.form.get("countries", "").replace(",", " ").split(),
            languages=desk_settings.parse_languages(request.form.get("languages", "en")),
            is_triage=request.form.get("triage") == "1",
            now=now(),
        )
    except DomainError as error:
        status = form_refusal_status(error)
        return render_template(
            "admin/desks.html", desks=desks.list_desks(session), error=error.message
        ), status
    return redirect(url_for("admin.desk_edit", slug=desk.slug), code=303)


def _render_desk(slug: str, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    session = get_db()
    desk = desks.get_desk(session, slug)
    languages = list(dict.fromkeys([*desk.languages, "en"]))
    return render_template(
        "admin/desk.html",
        desk=desk,
        error=error,
        languages=languages,
        tipster_statuses=list(TipsterStatus),
        defaults=DEFAULT_STATUS_TEXTS,
        status_texts=desk_settings.status_texts(session, desk.id),
        guidance=desk_settings.guidance_texts(session, desk.id),
        members=[(m.user, m) for m in desk.memberships],
        readers=len(desks.desk_recipients(session, desk.id)),
        candidates=[
            user
            for user in staff.list_staff_users(session)
            if user.role not in access.ADMINS
            and not user.disabled
            and all(m.user_id != user.id for m in desk.memberships)
        ],
    ), status


@bp.get("/desks/<slug>")
@staff_required(access.ADMINS)
def desk_edit(slug: str) -> ResponseReturnValue:
    return _render_desk(slug)


def _desk_change(slug: str, apply: Callable[[], None]) -> ResponseReturnValue:
    """Run one change on the desk; a refused change re-renders the page with the reason."""
    session = get_db()
    desks.get_desk(session, slug)  # an unknown desk is a 404, not a form error
    try:
        apply()
    except DomainError as error:
        return _render_desk(slug, error.message, form_refusal_status(error))
    return redirect(url_for("admin.desk_edit", slug=slug), code=303)


@bp.post("/desks/<slug>")
@staff_required(access.ADMINS)
def desk_update(slug: str) -> ResponseReturnValue:
    def apply() -> None:
        refused = "Retention is a whole number of days."
        retention_days = params.int_param(request.form, "retention_days", message=refused)
        if retention_days is None:
            raise InvalidInput(refused)
        desk_settings.update_desk(
            get_db(),
            desks.get_desk(get_db(), slug),
            current_staff().user,
            name=request.form.get("name", ""),
            country_codes=request.form.get("countries", "").replace(",", " ").split(),
            languages=desk_settings.parse_languages(request.form.get("languages", "")),
            retention_days=retention_days,
            auto_acknowledge=request.form.get("auto_acknowledge") == "1",
            now=now(),
        )

    return _desk_change(slug, apply)


@bp.post("/desks/<slug>/status-text")
@params.multiline("text")
@staff_required(access.ADMINS)
def desk_status_text(slug: str) -> ResponseReturnValue:
    def apply() -> None:
        refused = "Choose a status from the list."
        status = params.choice_param(request.form, "status", TipsterStatus, message=refused)
        if status is None:
            raise InvalidInput(refused)
        desk_settings.set_status_text(
            get_db(),
            desks.get_desk(get_db(), slug),
            current_staff().user,
            status=status,
            language=request.form.get("language", ""),
            text=request.form.get("text", ""),
            now=now(),
        )

    return _desk_change(slug, apply)


@bp.post("/desks/<slug>/guidance")
@params.multiline("markdown")
@staff_required(access.ADMINS)
def desk_guidance_edit(slug: str) -> ResponseReturnValue:
    def apply() -> None:
        desk_settings.set_guidance(
            get_db(),
            desks.get_desk(get_db(), slug),
            current_staff().user,
            language=request.form.get("language", ""),
            markdown=request.form.get("markdown", ""),
            now=now(),
        )

    return _desk_change(slug, apply)


@bp.post("/desks/<slug>/recovery-keys")
@params.multiline("key_file")
@staff_required(access.ADMINS)
def desk_recovery_key(slug: str) -> ResponseReturnValue:
    def apply() -> None:
        # Pasted rather than uploaded: this app refuses file parts outside the tip forms, so
        # that no upload is ever spooled to disk (app.web.upload.no_spool_request).
        administration.add_recovery_key(
            get_db(),
            current_staff().user,
            slug=slug,
            key_file=request.form.get("key_file", "").encode("utf-8"),
            label=request.form.get("label", ""),
            now=now(),
        )

    return _desk_change(slug, apply)


@bp.post("/desks/<slug>/members")
@staff_required(access.ADMINS)
def desk_member_add(slug: str) -> ResponseReturnValue:
    def apply() -> None:
        staff.join_desk(
            get_db(),
            request.form.get("username", ""),
            slug,
            now=now(),
            actor_id=current_staff().user.id,
        )

    return _desk_change(slug, apply)


@bp.post("/desks/<slug>/members/<username>/remove")
@staff_required(access.ADMINS)
def desk_member_remove(slug: str, username: str) -> ResponseReturnValue:
    def apply() -> None:
        # A prosecutor's sealed keys to the desk's tips are deleted with the membership.
        staff.leave_desk(get_db(), username, slug, now=now(), actor_id=current_staff().user.id)

    return _desk_change(slug, apply)


# --- Staff accounts -------------------------------------------------------------------------


def _render_users(
    error: str | None = None, invitation: str | None = None, status: int = 200
) -> ResponseReturnValue:
    session = get_db()
    return render_template(
        "admin/users.html",
        users=staff.list_staff_users(session),
        desks=desks.list_desks(session),
        roles=list(StaffRole),
        error=error,
        invitation=invitation,
    ), status


@bp.get("/users")
@staff_required(access.ADMINS)
def user_list() -> ResponseReturnValue:
    return _render_users()


@bp.post("/users")
@staff_required(access.ADMINS)
def user_create() -> ResponseReturnValue:
    session = get_db()
    try:
        refused = "Choose a role from the list."
        role = params.choice_param(request.form, "role", StaffRole, message=refused)
        if role is None:
            raise InvalidInput(refused)
        created = administration.create_staff_user(
            session,
            current_staff().user,
            username=request.form.get("username", ""),
            display_name=request.form.get("display_name", ""),
            role=role,
            desk_slugs=request.form.getlist("desks"),
            kdf=get_config().staff_kdf,
            now=now(),
        )
    except DomainError as error:
        return _render_users(error.message, status=form_refusal_status(error))
    assert created.invitation_token is not None  # created without a password
    # Shown once: only the token's digest is stored.
    link = url_for("staff.invitation", token=created.invitation_token, _external=True)
    return _render_users(invitation=link)


@bp.post("/users/<username>/disable")
@staff_required(access.ADMINS)
def user_disable(username: str) -> ResponseReturnValue:
    session = get_db()
    try:
        administration.disable_staff_user(session, current_staff().user, username, now=now())
    except InvalidInput as error:
        return _render_users(error.message, status=form_refusal_status(error))
    return redirect(url_for("admin.user_list"), code=303)


# --- The audit log, settings, statistics -----------------------------------------------------


@bp.get("/audit")
@staff_required(access.ADMINS)
def audit_view() -> ResponseReturnValue:
    filters = audit_log.AuditFilter(
        actor=params.text_param(request.args, "actor", max_chars=MAX_NAME_CHARS) or None,
        action=params.text_param(request.args, "action", max_chars=MAX_NAME_CHARS) or None,
        tip_id=params.uuid_param(
            request.args, "tip", message="Give the tip's full id (as in its address)."
        ),
        since=_day("since"),
        until=_day("until"),
    )
    page = audit_log.audit_page(get_db(), filters, cursor=params.text_param(request.args, "before"))
    return render_template("admin/audit.html", page=page, filters=filters)


@bp.get("/settings")
@staff_required(access.ADMINS)
def settings() -> ResponseReturnValue:
    config = get_config()
    summary = [
        ("Environment", config.env.value),
        ("Database", config.database_url.split(":", 1)[0]),
        ("Blob store", config.blob_store.value),
        ("Rate limit storage", "Redis" if config.redis_url else "memory (single server)"),
        ("Largest upload", f"{config.max_upload_bytes:,} bytes"),
        ("Staff session idle timeout", f"{config.staff_session_idle_minutes} minutes"),
        ("Staff session lifetime", f"{config.staff_session_max_hours} hours"),
        (
            "Staff key wrapping (Argon2id)",
            f"ops {config.staff_kdf.opslimit}, "
            f"memory {config.staff_kdf.memlimit // (1024 * 1024)} MiB",
        ),
        (
            "Digest email",
            f"{config.smtp.host}:{config.smtp.port} ({config.smtp.security.value}) to "
            f"{len(config.smtp.recipients)} address(es)"
            if config.smtp
            else "not configured (the digest is on the board)",
        ),
    ]
    return render_template("admin/settings.html", summary=summary)


@bp.get("/stats")
@staff_required(access.ADMINS)
def statistics() -> ResponseReturnValue:
    return render_statistics(None, "admin.statistics_csv")


@bp.get("/stats.csv")
@staff_required(access.ADMINS)
def statistics_csv() -> Response:
    return csv_response(None)

"""Staff pages: sign-in with two factors, the inbox, and (prosecutors only) reading tips.

Views stay thin: they parse the request, call one service, render. Whatever a tipster wrote is
rendered as escaped text by Jinja's autoescaping and never turned into links or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from app.context import get_blob_store, get_config, get_db
from app.errors import DomainError, InvalidInput
from app.models import ObjectKind, Scope, StaffRole, StaffUser, TipStatus
from app.security import csrf, limiter
from app.services import access, approvals, casefile, inbox, key_grants
from app.services import staff_auth as auth
from app.web import params
from app.web.downloads import attachment_disposition
from app.web.errors import form_refusal_status, refusal_status
from app.web.forms import (
    EmptyForm,
    InvitationForm,
    PasswordChangeForm,
    StaffLoginForm,
    StaffTextForm,
)
from app.web.staff_auth import (
    SESSION_COOKIE,
    clear_session_cookie,
    current_staff,
    now,
    safe_next,
    session_limits,
    set_session_cookie,
    staff_required,
)
from crypto.fingerprint import fingerprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

# What app.services.staff hands out (secrets.token_urlsafe); anything else is no invitation.
INVITATION_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


# --- Signing in and out -----------------------------------------------------------------


def _home_for(user: StaffUser) -> str:
    if user.role is StaffRole.ADMIN:
        admin_home = "admin.index"
        return url_for(admin_home if admin_home in current_app.view_functions else "staff.account")
    return url_for("staff.inbox_view")


def _login_page(form: StaffLoginForm, error: str | None = None, status: int = 200) -> Any:
    return render_template("staff/login.html", form=form, error=error), status


@bp.get("/login")
def login() -> ResponseReturnValue:
    return _login_page(StaffLoginForm())


def _login_rate_key() -> str:
    return "staff-login:" + request.form.get("username", "")[:64].strip().lower()


@bp.post("/login")
@csrf.exempt  # checked below by the form itself, so that a forged sign-in counts as a failure
@limiter.limit("10 per minute", key_func=_login_rate_key)
def login_submit() -> ResponseReturnValue:
    form = StaffLoginForm()
    session = get_db()
    try:
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                auth.refuse_forged_sign_in(session, form.username.data or "", now())
            return _login_page(
                form, "Please fill in your user name, password and one-time code.", 400
            )
        signed_in = auth.sign_in(
            session,
            username=form.username.data or "",
            password=form.password.data or "",
            totp_code=form.totp.data or "",
            previous_cookie=request.cookies.get(SESSION_COOKIE),
            now=now(),
            kdf=get_config().staff_kdf,
            limits=session_limits(),
        )
    except DomainError as refused:
        form.password.data = ""
        return _login_page(form, refused.message, refusal_status(refused))
    response = redirect(safe_next(request.args.get("next"), _home_for(signed_in.user)), code=303)
    set_session_cookie(response, signed_in.cookie)
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    auth.close_session(get_db(), request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for("staff.login"), code=303)
    clear_session_cookie(response)
    return response


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", key_func=lambda: "staff-invitation", methods=["POST"])
def invitation(token: str) -> ResponseReturnValue:
    session = get_db()
    config = get_config()
    moment = now()
    if INVITATION_TOKEN.fullmatch(token) is None:  # the service reads a token as ASCII
        raise auth.InvitationInvalid()
    user = auth.find_invitation(session, token, moment)
    form = InvitationForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            error = "Please fill in every field."
        else:
            try:
                signed_in = auth.accept_invitation(
                    session,
                    token,
                    password=form.password.data or "",
                    confirm=form.confirm.data or "",
                    totp_code=form.totp.data or "",
                    now=moment,
                    kdf=config.staff_kdf,
                    limits=session_limits(),
                )
            except DomainError as failure:
                refusal_status(failure)  # a wrong code counts toward lockout
                error = failure.message
            else:
                response = redirect(_home_for(signed_in.user), code=303)
                set_session_cookie(response, signed_in.cookie)
                return response
    return render_template(
        "staff/invitation.html",
        form=form,
        user=user,
        totp_uri=_totp_uri(user),
        error=error,
    ), (422 if error else 200)


def _totp_uri(user: StaffUser) -> str:
    import pyotp

    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.username, issuer_name="Tipline"
    )


@bp.route("/account", methods=["GET", "POST"])
@staff_required(access.EVERY_ROLE)
def account() -> ResponseReturnValue:
    context = current_staff()
    form = PasswordChangeForm()
    error = None
    if request.method == "POST":
        session = get_db()
        if not form.validate_on_submit():
            error = "Please fill in every field."
        else:
            try:
                cookie = auth.change_password(
                    session,
                    context.user,
                    current=form.current.data or "",
                    new=form.password.data or "",
                    confirm=form.confirm.data or "",
                    totp_code=form.totp.data or "",
                    now=now(),
                    kdf=get_config().staff_kdf,
                    limits=session_limits(),
                )
            except DomainError as failure:
                refusal_status(failure)  # a wrong password or code counts toward lockout
                error = failure.message
            else:
                response = redirect(url_for("staff.account", changed=1), code=303)
                set_session_cookie(response, cookie)
                return response
    return render_template(
        "staff/account.html",
        form=form,
        error=error,
        changed=request.args.get("changed") == "1",
        user=context.user,
        key_fingerprint=fingerprint(context.keypair.public_key) if context.keypair else None,
    ), (422 if error else 200)


# --- The inbox --------------------------------------------------------------------------


def _inbox_filter(desk_ids: set[int]) -> inbox.InboxFilter:
    refused = "Unknown filter value; choose from the lists."
    status_value = params.choice_param(request.args, "status", TipStatus, message=refused)
    desk_id = params.int_param(request.args, "desk", message=refused)
    if desk_id is not None and desk_id not in desk_ids:
        desk_id = -1  # never another desk's tips: an empty page
    return inbox.InboxFilter(
        status=status_value, desk_id=desk_id, unread_only=request.args.get("unread") == "1"
    )


@bp.get("/")
@staff_required(access.CASE_WORKERS)
def inbox_view() -> ResponseReturnValue:
    context = current_staff()
    session = get_db()
    desks = access.member_desks(session, context.user.id)
    filters = _inbox_filter({desk.id for desk in desks})
    page = inbox.inbox_page(
        session, context.user.id, filters=filters, cursor=params.text_param(request.args, "after")
    )
    return render_template(
        "staff/inbox.html",
        page=page,
        desks=desks,
        filters=filters,
        statuses=list(TipStatus),
        waiting=approvals.waiting_count(session, context),
        locked=key_grants.tips_awaiting_access(session, context.user.id),
        can_read=context.user.role is StaffRole.PROSECUTOR,
        logout_form=EmptyForm(),
    )


# --- Reading and answering a tip (prosecutors) --------------------------------------------


def _open(tip_id: str) -> casefile.OpenedTip:
    return casefile.open_tip(get_db(), current_staff(), tip_id)


def _render_tip(
    opened: casefile.OpenedTip,
    *,
    reply_text: str = "",
    note_text: str = "",
    error: str | None = None,
    error_for: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = get_db()
    context = current_staff()
    entries = casefile.read_case(
        session, get_blob_store(), opened, actor_id=context.user.id, now=now()
    )
    inbox.mark_read(session, context.user.id, opened.tip)
    reply_form = StaffTextForm(formdata=None, text=reply_text)
    note_form = StaffTextForm(formdata=None, text=note_text)
    return render_template(
        "staff/tip.html",
        tip=opened.tip,
        report=[e for e in entries if e.kind is ObjectKind.REPORT],
        files=[e for e in entries if e.kind is ObjectKind.FILE],
        thread=[e for e in entries if e.scope is Scope.THREAD and e.kind is ObjectKind.MESSAGE],
        notes=[e for e in entries if e.kind is ObjectKind.NOTE],
        reply_form=reply_form,
        note_form=note_form,
        unread_form=EmptyForm(),
        logout_form=EmptyForm(),
        error=error,
        error_for=error_for,
        sent=request.args.get("sent"),
    ), status


@bp.get("/tips/<uuid_text:tip_id>")
@staff_required(access.READERS)
def tip_view(tip_id: str) -> ResponseReturnValue:
    return _render_tip(_open(tip_id))


def _add_text(tip_id: str, scope: Scope, which: str) -> ResponseReturnValue:
    opened = _open(tip_id)
    form = StaffTextForm()
    text = form.text.data or ""
    if not form.validate_on_submit():
        expired = InvalidInput("The form expired; your text is below, send again.")
        return _tip_error(opened, which, text, expired)
    try:
        casefile.add_staff_text(
            get_db(),
            get_blob_store(),
            opened,
            text=text,
            scope=scope,
            actor_id=current_staff().user.id,
            now=now(),
        )
    except DomainError as failure:
        return _tip_error(opened, which, text, failure)
    inbox.mark_read(get_db(), current_staff().user.id, opened.tip)
    return redirect(url_for("staff.tip_view", tip_id=tip_id, sent=which) + f"#{which}", code=303)


def _tip_error(
    opened: casefile.OpenedTip, which: str, text: str, failure: DomainError
) -> ResponseReturnValue:
    """Show the tip again with the error beside the form and the text kept (nothing lost)."""
    status = form_refusal_status(failure)
    texts = {"reply_text": text} if which == "reply" else {"note_text": text}
    return _render_tip(opened, error=failure.message, error_for=which, status=status, **texts)


@bp.post("/tips/<uuid_text:tip_id>/reply")
@params.multiline("text")
@staff_required(access.READERS)
def tip_reply(tip_id: str) -> ResponseReturnValue:
    return _add_text(tip_id, Scope.THREAD, "reply")


@bp.post("/tips/<uuid_text:tip_id>/notes")
@params.multiline("text")
@staff_required(access.READERS)
def tip_note(tip_id: str) -> ResponseReturnValue:
    return _add_text(tip_id, Scope.INTERNAL, "note")


@bp.post("/tips/<uuid_text:tip_id>/unread")
@staff_required(access.READERS)
def tip_mark_unread(tip_id: str) -> ResponseReturnValue:
    opened = _open(tip_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    inbox.mark_unread(get_db(), current_staff().user.id, opened.tip.id)
    return redirect(url_for("staff.inbox_view"), code=303)


@bp.get("/tips/<uuid_text:tip_id>/files/<uuid_text:object_id>")
@staff_required(access.READERS)
def tip_download(tip_id: str, object_id: str) -> BaseResponse:
    opened = _open(tip_id)
    metadata, body = casefile.file_download(
        get_db(),
        get_blob_store(),
        opened,
        object_id,
        actor_id=current_staff().user.id,
        now=now(),
    )

    def stream() -> Iterator[bytes]:
        # A rejected chunk raises mid-way: the connection drops short of Content-Length, so
        # the browser reports a failed download rather than saving a damaged file.
        yield from body

    response = Response(stream(), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = attachment_disposition(str(metadata.get("name", "")))
    response.headers["Content-Length"] = str(int(metadata["size"]))
    return response


@bp.get("/home")
@staff_required(access.EVERY_ROLE)
def home() -> BaseResponse:
    return redirect(_home_for(current_staff().user), code=303)

"""The tipster's pages: choose a desk, report, get the code, come back with it.

Uploads are stream-parsed (app.web.multipart) and encrypted as they arrive; plaintext exists
only in memory, in bounded pieces. Nothing here is logged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from werkzeug.wrappers import Response as BaseResponse

from app.context import get_blob_store, get_config, get_db
from app.models import ObjectKind, Scope
from app.security import allows_scripts, csrf, limiter
from app.services import desks as desk_service
from app.services import tipster as tipster_service
from app.services.intake import TipIntake, add_uploaded_file
from app.services.objects import ObjectBatch
from app.services.report_form import REPORT_FIELDS, ReportErrors, validate_report
from app.web.forms import BurnCodeForm, CodeLoginForm, CodePracticeForm, EmptyForm
from app.web.multipart import Part, UploadTooLarge, iter_parts
from app.web.uploads import StreamedForm, read_streamed_form
from crypto.codes import parse_code
from crypto.errors import InvalidCode
from crypto.metadata import message_metadata

bp = Blueprint("tipster", __name__)
SESSION_COOKIE = "tipline_tipster"
MAX_MESSAGE_CHARS = 20_000


def _now() -> datetime:
    return datetime.now(UTC)


def _locale() -> str:
    return str(get_locale() or "en")


def _check_declared_length() -> int:
    """:raises UploadTooLarge: the declared body is over the limit (nothing is read then)."""
    limit = get_config().max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise UploadTooLarge(limit)
    return limit


# --- Submitting a tip ---------------------------------------------------------------------


@bp.get("/submit")
def choose_desk() -> str:
    session = get_db()
    return render_template(
        "tipster/choose_desk.html",
        choices=desk_service.country_choices(session),
        has_triage=desk_service.triage_desk(session) is not None,
    )


@bp.get("/submit/report")
@allows_scripts
def report_form() -> str:
    desk = desk_service.desk_for_country(get_db(), request.args.get("country", "unknown"))
    return render_template("tipster/report_form.html", desk=desk, fields=REPORT_FIELDS, values={})


@bp.post("/submit/<slug>")
@csrf.exempt  # checked on the stream itself: Flask-WTF's check would parse (and spool) the body
def submit(slug: str) -> ResponseReturnValue:
    session = get_db()
    config = get_config()
    desk = desk_service.get_desk(session, slug)
    limit = _check_declared_length()
    intake = TipIntake(session, get_blob_store(), desk)
    today = _now().date()

    def encrypt_file(part: Part, form: StreamedForm) -> None:
        if isinstance(validate_report(form.fields, file_count=1, today=today), ReportErrors):
            return  # the form will come back with errors: don't spend time encrypting
        intake.add_file(part.filename or "", part.content_type, part.chunks)

    try:
        form = read_streamed_form(
            iter_parts(request.stream, request.content_type, max_bytes=limit), encrypt_file
        )
        checked = validate_report(form.fields, file_count=form.file_count, today=today)
        if isinstance(checked, ReportErrors):
            intake.abort()
            return render_template(
                "tipster/report_form.html",
                desk=desk,
                fields=REPORT_FIELDS,
                values=form.fields,
                errors=checked,
                files_dropped=form.file_count,
            ), 422
        issued = intake.complete(
            session, fields=checked.fields, lang=_locale(), pepper=config.pepper, today=today
        )
    except BaseException:
        intake.abort()
        raise
    return make_response(
        render_template(
            "tipster/code.html", code=issued.code, form=CodePracticeForm(code=issued.code)
        )
    )


@bp.post("/submit/practice")
def practice_code() -> str:
    form = CodePracticeForm()
    matched = False
    if form.validate_on_submit():
        try:
            matched = parse_code(form.attempt.data or "") == parse_code(form.code.data or "")
        except InvalidCode:
            matched = False
    return render_template(
        "tipster/code.html", code=form.code.data, form=form, practised=True, matched=matched
    )


# --- Coming back with the code -------------------------------------------------------------


def _idle() -> timedelta:
    return timedelta(minutes=get_config().tipster_session_idle_minutes)


def _set_session_cookie(response: BaseResponse, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="Strict",
        secure=get_config().secure_cookies,
        path="/status",
    )


def _clear_session_cookie(response: BaseResponse) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/status", samesite="Strict", secure=get_config().secure_cookies
    )


def _login_page(notice: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("tipster/login.html", form=CodeLoginForm(), notice=notice), status


@bp.get("/status")
def login() -> tuple[str, int]:
    return _login_page()


@bp.post("/status")
@limiter.limit("30 per minute", key_func=lambda: "tipster-code-login")
def login_submit() -> ResponseReturnValue:
    form = CodeLoginForm()
    if not form.validate_on_submit():
        return _login_page("Please type the 8 words of your code.", 400)
    session = get_db()
    try:
        access = tipster_service.login_with_code(
            session, code_text=form.code.data or "", pepper=get_config().pepper
        )
    except tipster_service.CodeNotRecognised as error:
        return _login_page(error.message, error.status_code)
    cookie = tipster_service.start_session(session, access, now=_now(), idle=_idle())
    response = redirect(url_for("tipster.thread"), code=303)
    _set_session_cookie(response, cookie)
    return response


def _access() -> tipster_service.TipsterAccess:
    return tipster_service.resume_session(
        get_db(), request.cookies.get(SESSION_COOKIE), now=_now(), idle=_idle()
    )


@bp.get("/status/thread")
def thread() -> ResponseReturnValue:
    try:
        access = _access()
    except tipster_service.TipsterSessionExpired as error:
        return _login_page(error.message, error.status_code)
    view = tipster_service.read_thread(get_db(), get_blob_store(), access, _locale())
    return make_response(
        render_template(
            "tipster/thread.html",
            thread=view,
            fields=REPORT_FIELDS,
            logout_form=EmptyForm(),
            sent=request.args.get("sent") == "1",
        )
    )


@bp.post("/status/messages")
@csrf.exempt  # checked on the stream itself, as for /submit
def send_message() -> ResponseReturnValue:
    try:
        access = _access()
    except tipster_service.TipsterSessionExpired as error:
        return _login_page(error.message, error.status_code)
    session = get_db()
    limit = _check_declared_length()
    batch: ObjectBatch = tipster_service.followup_batch(session, get_blob_store(), access)

    def encrypt_file(part: Part, _form: StreamedForm) -> None:
        add_uploaded_file(
            batch,
            filename=part.filename or "",
            content_type=part.content_type,
            chunks=part.chunks,
        )

    try:
        form = read_streamed_form(
            iter_parts(request.stream, request.content_type, max_bytes=limit), encrypt_file
        )
        text = form.fields.get("message", "").strip()
        if len(text) > MAX_MESSAGE_CHARS or not (text or form.file_count):
            batch.discard()
            view = tipster_service.read_thread(session, get_blob_store(), access, _locale())
            problem = (
                f"Please shorten your message to at most {MAX_MESSAGE_CHARS} characters."
                if text
                else "Your message is empty. Write something or attach a file."
            )
            return render_template(
                "tipster/thread.html",
                thread=view,
                fields=REPORT_FIELDS,
                logout_form=EmptyForm(),
                message_error=problem,
                message_value=form.fields.get("message", ""),
                files_dropped=form.file_count,
            ), 422
        if text:
            batch.add(Scope.THREAD, ObjectKind.MESSAGE, message_metadata(text))
        tipster_service.commit_followup(session, batch, access, today=_now().date())
    except BaseException:
        batch.discard()
        raise
    return redirect(url_for("tipster.thread", sent=1), code=303)


@bp.get("/status/burn")
def burn_confirm() -> ResponseReturnValue:
    try:
        _access()
    except tipster_service.TipsterSessionExpired as error:
        return _login_page(error.message, error.status_code)
    return make_response(render_template("tipster/burn.html", form=BurnCodeForm()))


@bp.post("/status/burn")
def burn() -> ResponseReturnValue:
    try:
        access = _access()
    except tipster_service.TipsterSessionExpired as error:
        return _login_page(error.message, error.status_code)
    form = BurnCodeForm()
    if not form.validate_on_submit():
        return render_template("tipster/burn.html", form=form), 400
    tipster_service.burn_code(get_db(), access)
    response = make_response(render_template("tipster/burned.html"))
    _clear_session_cookie(response)
    return response


@bp.post("/status/logout")
def logout() -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit():
        tipster_service.end_session(get_db(), request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for("public.index"), code=303)
    _clear_session_cookie(response)
    return response

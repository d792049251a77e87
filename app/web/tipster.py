"""The tipster's pages: choose a desk, report, get the code, come back with it.

Uploads are stream-parsed (app.web.upload) and encrypted as they arrive; plaintext exists
only in memory, in bounded pieces. Nothing here is logged.
"""

from __future__ import annotations

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

from app.context import discard_unless_committed, get_blob_store, get_config, get_db
from app.security import allows_scripts, code_login_slots, csrf, limiter
from app.services import desks as desk_service
from app.services import tipster as tipster_service
from app.services.intake import TipIntake
from app.services.report_form import REPORT_FIELDS, ReportErrors, validate_report
from app.web import params
from app.web.errors import form_refusal_status, status_of
from app.web.forms import BurnCodeForm, CodeLoginForm, CodePracticeForm, EmptyForm
from app.web.rate_limits import code_login_budget, code_login_key
from app.web.tipster_auth import (
    SESSION_COOKIE,
    clear_session_cookie,
    current_tipster,
    idle_timeout,
    login_page,
    now,
    set_session_cookie,
    tipster_required,
)
from app.web.upload.multipart_stream import Part, UploadTooLarge, iter_parts
from app.web.upload.streamed_form import StreamedForm, read_streamed_form
from crypto.codes import parse_code
from crypto.errors import InvalidCode

bp = Blueprint("tipster", __name__)


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
    country = params.text_param(request.args, "country", max_chars=64, default="unknown")
    desk = desk_service.desk_for_country(get_db(), country)
    return render_template("tipster/report_form.html", desk=desk, fields=REPORT_FIELDS, values={})


@bp.post("/submit/<slug>")
@csrf.exempt  # checked on the stream itself: Flask-WTF's check would parse (and spool) the body
@params.reads_own_body
def submit(slug: str) -> ResponseReturnValue:
    session = get_db()
    config = get_config()
    desk = desk_service.get_desk(session, slug)
    limit = _check_declared_length()
    intake = TipIntake(session, get_blob_store(), desk)
    discard_unless_committed(intake.abort)  # also when the commit itself fails
    today = now().date()

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
    return make_response(render_template("tipster/code.html", code=issued.code))


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
        "tipster/code.html", code=form.code.data, practised=True, matched=matched
    )


# --- Coming back with the code -------------------------------------------------------------


@bp.get("/status")
def login() -> tuple[str, int]:
    return login_page()


@bp.post("/status")
@limiter.limit(code_login_budget, key_func=code_login_key)
def login_submit() -> ResponseReturnValue:
    form = CodeLoginForm()
    if not form.validate_on_submit():
        return login_page("Please type the 8 words of your code.", 400)
    session = get_db()
    try:
        access = tipster_service.login_with_code(
            session,
            code_text=form.code.data or "",
            pepper=get_config().pepper,
            kdf_slots=code_login_slots(),
        )
    except tipster_service.CodeNotRecognised as error:
        return login_page(error.message, status_of(error))
    cookie = tipster_service.start_session(session, access, now=now(), idle=idle_timeout())
    response = redirect(url_for("tipster.thread"), code=303)
    set_session_cookie(response, cookie)
    return response


def _thread_page(**extra: object) -> str:
    view = tipster_service.read_thread(get_db(), get_blob_store(), current_tipster(), _locale())
    return render_template("tipster/thread.html", thread=view, logout_form=EmptyForm(), **extra)


@bp.get("/status/thread")
@tipster_required
def thread() -> ResponseReturnValue:
    return make_response(_thread_page(sent=request.args.get("sent") == "1"))


@bp.post("/status/messages")
@csrf.exempt  # checked on the stream itself, as for /submit
@params.reads_own_body
@tipster_required
def send_message() -> ResponseReturnValue:
    session = get_db()
    limit = _check_declared_length()
    followup = tipster_service.FollowUp(session, get_blob_store(), current_tipster())
    discard_unless_committed(followup.abort)  # also when the commit itself fails

    def encrypt_file(part: Part, _form: StreamedForm) -> None:
        followup.add_file(part.filename or "", part.content_type, part.chunks)

    try:
        form = read_streamed_form(
            iter_parts(request.stream, request.content_type, max_bytes=limit), encrypt_file
        )
        followup.complete(
            session,
            text=form.fields.get("message", ""),
            file_count=form.file_count,
            today=now().date(),
        )
    except tipster_service.MessageRejected as problem:
        followup.abort()
        status = form_refusal_status(problem)
        return _thread_page(
            message_error=problem.message,
            message_value=form.fields.get("message", ""),
            files_dropped=form.file_count,
        ), status
    except BaseException:
        followup.abort()
        raise
    return redirect(url_for("tipster.thread", sent=1), code=303)


@bp.get("/status/burn")
@tipster_required
def burn_confirm() -> ResponseReturnValue:
    return make_response(render_template("tipster/burn.html", form=BurnCodeForm()))


@bp.post("/status/burn")
@tipster_required
def burn() -> ResponseReturnValue:
    form = BurnCodeForm()
    if not form.validate_on_submit():
        return render_template("tipster/burn.html", form=form), 400
    tipster_service.burn_code(get_db(), current_tipster())
    response = make_response(render_template("tipster/burned.html"))
    clear_session_cookie(response)
    return response


@bp.post("/status/logout")
def logout() -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit():
        tipster_service.end_session(get_db(), request.cookies.get(SESSION_COOKIE))
    response = redirect(url_for("public.index"), code=303)
    clear_session_cookie(response)
    return response

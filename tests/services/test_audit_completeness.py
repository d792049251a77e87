"""Every state-changing route and command appends exactly its audit events (DESIGN §5 "Audit").

Two explicit tables say what each one must append, in order: ``ROUTES`` (every endpoint that
takes POST, PUT, PATCH or DELETE, plus the GET routes whose reading is audited) and
``COMMANDS`` (every command of the ``tipline`` tree). Tests check that the tables name every
route and command the app has, so a new one without an entry fails the suite; each entry runs
once, successfully, against a fresh instance, and what it appended is the audit events whose
id is above the newest one before it ran. Tipster actions append nothing: an event carries a
time of day, and a tipster leaves only day-granular dates (DESIGN §2.3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app import create_app
from app.cli import cli
from app.services.audit import AuditAction
from tests.services.audit_scenarios import (
    a_mail_server,
    accept_an_invitation,
    add_a_desk,
    add_a_key,
    add_a_member,
    add_an_officer,
    an_expired_draft,
    an_expired_tip_and_draft,
    approve_a_key,
    approve_a_prosecutor,
    assign_the_tip,
    burn_the_code,
    change_password,
    come_back_with_the_code,
    create_a_desk,
    decrypt_a_bundle,
    disable_an_account,
    disable_an_officer,
    discard_a_draft,
    download_a_file,
    extend_preservation,
    extend_the_feedback_deadline,
    finalize_a_draft,
    fingerprint_a_key_file,
    generate_a_key_file,
    invite_an_officer,
    join_the_desk,
    leave_the_desk,
    leave_the_thread,
    on_a_tip,
    on_the_board,
    open_a_draft,
    paste_a_recovery_key,
    practise_the_code,
    read_a_tip,
    record_an_outcome,
    remove_a_member,
    remove_an_outcome,
    rename_the_desk,
    request_preservation,
    send_a_follow_up,
    set_a_status_text,
    set_the_guidance,
    share_older_tips,
    sign_in,
    sign_in_forged,
    sign_in_wrongly,
    sign_out,
    submit_a_tip,
    upload_a_chunk,
)
from tests.services.audit_stage import OFFICER, Act, Stage
from tests.web.conftest import make_test_config

A = AuditAction
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# GET routes that change nothing anyone set, yet are audited: reading a tip, downloading a file.
AUDITED_READS = frozenset({"staff.tip_view", "staff.tip_download"})
TIPSTER_BLUEPRINTS = frozenset({"tipster", "api"})


@pytest.fixture
def stage(database_url: str, tmp_path: Path) -> Iterator[Stage]:
    config = make_test_config(database_url, tmp_path / "instance")
    app = create_app(config)
    with ExitStack() as cleanup:
        yield Stage(app, config, tmp_path, cleanup)
    app.extensions["tipline.engine"].dispose()


# --- Routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One successful (or, with a ``variant``, one refused) request of ``endpoint``."""

    endpoint: str
    appends: tuple[AuditAction, ...]
    status: int
    arrange: Callable[[Stage], Act]
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.variant}" if self.variant else self.endpoint


ROUTES = [
    # Tipsters: never an event (DESIGN §2.3).
    Route("tipster.submit", (), 200, submit_a_tip),
    Route("tipster.practice_code", (), 200, practise_the_code),
    Route("tipster.login_submit", (), 303, come_back_with_the_code),
    Route("tipster.send_message", (), 303, send_a_follow_up),
    Route("tipster.burn", (), 200, burn_the_code),
    Route("tipster.logout", (), 303, leave_the_thread),
    Route("api.create_draft", (), 201, open_a_draft),
    Route("api.append_chunk", (), 200, upload_a_chunk),
    Route("api.finalize_draft", (), 200, finalize_a_draft),
    Route("api.discard_draft", (), 204, discard_a_draft),
    # Staff signing in and out, and their own accounts.
    Route("staff.login_submit", (A.STAFF_SIGNED_IN,), 303, sign_in),
    Route("staff.login_submit", (A.STAFF_SIGN_IN_FAILED,), 403, sign_in_wrongly, "wrong-password"),
    Route("staff.login_submit", (A.STAFF_SIGN_IN_FAILED,), 400, sign_in_forged, "forged-form"),
    Route("staff.logout", (), 303, sign_out),
    Route("staff.invitation", (A.STAFF_SIGNED_IN,), 303, accept_an_invitation),
    Route("staff.account", (A.STAFF_PASSWORD_CHANGED, A.STAFF_SIGNED_IN), 303, change_password),
    # Prosecutors reading and answering tips.
    Route("staff.tip_view", (A.TIP_DECRYPTED,), 200, read_a_tip),
    Route("staff.tip_download", (A.FILE_DOWNLOADED,), 200, download_a_file),
    Route("staff.tip_reply", (A.REPLY_SENT,), 303, on_a_tip("reply", text="Thank you.")),
    Route("staff.tip_reply", (A.TIP_DECRYPTED,), 422, on_a_tip("reply", text=" "), "empty"),
    Route("staff.tip_note", (A.NOTE_ADDED,), 303, on_a_tip("notes", text="Matches a seizure.")),
    Route("staff.tip_mark_unread", (), 303, on_a_tip("unread")),
    # Prosecutors letting a newcomer read their desk (after comparing fingerprints).
    Route(
        "approvals.approve_member",
        (A.DESK_MEMBER_APPROVED, A.DESK_KEYS_GRANTED),
        303,
        approve_a_prosecutor,
    ),
    Route("approvals.approve_member", (A.DESK_KEYS_GRANTED,), 303, share_older_tips, "approved"),
    Route("approvals.approve_recovery_key", (A.DESK_RECOVERY_KEY_APPROVED,), 303, approve_a_key),
    # Admins: desks and accounts.
    Route("admin.desk_create", (A.DESK_CREATED,), 303, create_a_desk),
    Route("admin.desk_update", (A.DESK_UPDATED,), 303, rename_the_desk),
    Route("admin.desk_status_text", (A.DESK_STATUS_TEXT_SET,), 303, set_a_status_text),
    Route("admin.desk_guidance_edit", (A.DESK_GUIDANCE_SET,), 303, set_the_guidance),
    Route("admin.desk_recovery_key", (A.DESK_RECOVERY_KEY_ADDED,), 303, paste_a_recovery_key),
    Route("admin.desk_member_add", (A.DESK_MEMBER_ADDED,), 303, add_a_member),
    Route("admin.desk_member_remove", (A.DESK_MEMBER_REMOVED,), 303, remove_a_member),
    Route("admin.user_create", (A.STAFF_CREATED,), 200, invite_an_officer),
    Route("admin.user_disable", (A.STAFF_DISABLED,), 303, disable_an_account),
    # Case officers on the board.
    Route(
        "board.tip_status", (A.TIP_STATUS_CHANGED,), 303, on_the_board("status", status="triaged")
    ),
    Route("board.tip_assignee", (A.TIP_ASSIGNED,), 303, assign_the_tip),
    Route(
        "board.tip_priority", (A.TIP_PRIORITY_CHANGED,), 303, on_the_board("priority", priority="2")
    ),
    Route("board.tip_tags", (A.TIP_TAGS_CHANGED,), 303, on_the_board("tags", commodity="horn")),
    Route("board.tip_extension", (A.TIP_FEEDBACK_EXTENDED,), 303, extend_the_feedback_deadline),
    Route("board.tip_preservation", (A.PRESERVATION_REQUESTED,), 303, request_preservation),
    Route("board.tip_preservation_extend", (A.PRESERVATION_EXTENDED,), 303, extend_preservation),
    Route("board.tip_outcome", (A.OUTCOME_RECORDED,), 303, record_an_outcome),
    Route("board.tip_outcome_remove", (A.OUTCOME_REMOVED,), 303, remove_an_outcome),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_each_state_changing_route_appends_exactly_its_audit_events(
    stage: Stage, route: Route
) -> None:
    act = route.arrange(stage)
    before = stage.last_event_id()
    response = act()
    body = response.get_data(as_text=True)
    assert response.status_code == route.status, f"{route.id}: {response.status_code} {body}"
    appended = stage.appended_after(before)
    assert [event.action for event in appended] == list(route.appends), route.id
    actor = stage.user_id(stage.actor)
    assert all(event.actor_user_id == actor for event in appended), (route.id, appended)


def test_the_route_table_names_every_state_changing_route_and_only_those(stage: Stage) -> None:
    rules = list(stage.app.url_map.iter_rules())
    changing = {rule.endpoint for rule in rules if (rule.methods or set()) & STATE_CHANGING_METHODS}
    listed = {route.endpoint for route in ROUTES}
    assert changing - listed == set(), "state-changing routes missing from ROUTES"
    assert listed - changing - AUDITED_READS == set(), "ROUTES names routes that are gone"
    read_only = {rule.endpoint for rule in rules} - changing
    assert AUDITED_READS - read_only == set(), "AUDITED_READS names routes that are not GETs"


def test_no_tipster_route_is_expected_to_leave_an_audit_event() -> None:
    tipster_routes = [r for r in ROUTES if r.endpoint.split(".")[0] in TIPSTER_BLUEPRINTS]
    assert tipster_routes and all(route.appends == () for route in tipster_routes)


# --- Commands -------------------------------------------------------------------------------


class Effect(Enum):
    AUDITED = "changes desks, accounts or tips: audited"
    READS = "reads only"
    OUTSIDE_THE_LOG = "changes only files, the schema or derived figures, which the log omits"


@dataclass(frozen=True)
class Command:
    """One run of ``tipline <path>``; ``arrange`` sets the stage and returns the arguments."""

    path: str
    effect: Effect
    appends: tuple[AuditAction, ...] = ()
    arrange: Callable[[Stage], list[str]] | None = None  # None: just the path, on a tip
    not_run: str = ""

    def param(self) -> object:
        return pytest.param(self, id=self.path.replace(" ", "-"))


PURGE = (A.TIP_KEYS_SHREDDED, A.TIP_PURGED, A.DRAFTS_PURGED)  # keys first, then the rest

DEMO_SEED = (
    *(A.DESK_CREATED, A.DESK_CREATED),  # its desk and the triage desk
    *(A.DESK_RECOVERY_KEY_ADDED, A.DESK_RECOVERY_KEY_ADDED),  # one key file for both
    *(A.STAFF_CREATED, A.STAFF_CREATED, A.STAFF_CREATED),  # a prosecutor, an officer, an admin
)
COMMANDS = [
    Command("init", Effect.OUTSIDE_THE_LOG),
    Command("db upgrade", Effect.OUTSIDE_THE_LOG),
    Command("serve", Effect.READS, not_run="serves until stopped; ROUTES covers its requests"),
    Command("demo", Effect.AUDITED, DEMO_SEED, lambda s: ["demo"]),
    Command("desks add", Effect.AUDITED, (A.DESK_CREATED,), add_a_desk),
    Command("desks add-recovery-key", Effect.AUDITED, (A.DESK_RECOVERY_KEY_ADDED,), add_a_key),
    Command("desks list", Effect.READS),
    Command("users add", Effect.AUDITED, (A.STAFF_CREATED,), add_an_officer),
    Command("users disable", Effect.AUDITED, (A.STAFF_DISABLED,), disable_an_officer),
    Command("users join", Effect.AUDITED, (A.DESK_MEMBER_ADDED,), join_the_desk),
    Command("users leave", Effect.AUDITED, (A.DESK_MEMBER_REMOVED,), leave_the_desk),
    Command("users list", Effect.READS),
    Command("keys generate", Effect.OUTSIDE_THE_LOG, (), generate_a_key_file),
    Command("keys fingerprint", Effect.READS, (), fingerprint_a_key_file),
    Command("decrypt", Effect.OUTSIDE_THE_LOG, (), decrypt_a_bundle),
    Command("audit verify", Effect.READS),
    Command("purge", Effect.AUDITED, PURGE, an_expired_tip_and_draft),
    Command(
        "purge-drafts",
        Effect.AUDITED,
        (A.DRAFTS_PURGED,),
        an_expired_draft,
    ),
    Command("digest show", Effect.READS),
    Command("digest send", Effect.READS, (), a_mail_server),
    Command("stats refresh", Effect.OUTSIDE_THE_LOG),
]


def on_a_tip_and_an_account(command: Command) -> Callable[[Stage], list[str]]:
    """A command run as it is named, on an instance with a tip and an account to read."""

    def arrange(s: Stage) -> list[str]:
        s.tip()
        s.account("olga", OFFICER)
        return command.path.split()

    return arrange


@pytest.mark.parametrize("command", [c.param() for c in COMMANDS if not c.not_run])
def test_each_command_appends_exactly_its_audit_events_on_behalf_of_nobody(
    stage: Stage, command: Command
) -> None:
    args = (command.arrange or on_a_tip_and_an_account(command))(stage)
    before = stage.last_event_id()
    result = CliRunner().invoke(cli, args, env=stage.cli_env, catch_exceptions=False)
    assert result.exit_code == 0, f"tipline {command.path}: {result.output}"
    appended = stage.appended_after(before)
    assert [event.action for event in appended] == list(command.appends), command.path
    assert all(event.actor_user_id is None for event in appended), (command.path, appended)


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every runnable command under ``group``, as the words typed after ``tipline``."""
    context = click.Context(group)
    paths = set()
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            paths |= command_paths(command, (*prefix, name))
        else:
            paths.add(" ".join((*prefix, name)))
    return paths


def test_the_command_table_names_every_command_of_the_tipline_tree() -> None:
    assert {command.path for command in COMMANDS} == command_paths(cli)


def test_only_the_commands_that_change_what_the_log_records_expect_events() -> None:
    for command in COMMANDS:
        assert (command.effect is Effect.AUDITED) == bool(command.appends), command.path


def test_every_audit_action_is_expected_of_some_route_or_command() -> None:
    by_routes = {action for route in ROUTES for action in route.appends}
    by_commands = {action for command in COMMANDS for action in command.appends}
    assert set(AuditAction) - by_routes - by_commands == set()

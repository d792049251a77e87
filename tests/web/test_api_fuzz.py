"""Schemathesis fuzzes /api/v1 in-process from its own OpenAPI document: no request, valid or
not, gets a server error, and every answer has a status, type and body the document names.

Schemathesis's engine (what ``schemathesis run`` drives) runs each phase against the Flask app
through WSGI. Its pytest integration (``schemathesis.pytest.from_fixture``) is not used: it
sets ``Function._nodeid``, which the pinned pytest no longer has.

- examples: the document has none, so one request per operation is generated in their place;
- coverage: boundary and type-confusion cases for every parameter and body field;
- fuzzing: ``FUZZING_EXAMPLES`` generated requests per operation, valid and invalid;
- stateful: not run, the document declares no links (see the last test).

About half the requests to a draft's routes are pointed at a real draft with its bearer
token (:class:`LiveDrafts`); the rest keep the generated id and token and stop at 401 or 404.
Deterministic for CI: a fixed seed, derandomized Hypothesis, no example database, and nothing
learnt from earlier responses (they carry random ids).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis.engine import Status, StopReason, events, from_schema

from app.services import drafts
from tests.web.api_steps import PythonBrowser, plan
from tests.web.conftest import ReceivingDesk

OPENAPI_PATH = "/api/v1/openapi.json"
SEED = 20
FUZZING_EXAMPLES = 40  # per operation; the coverage phase's cases follow from the document
PHASES = ("examples", "coverage", "fuzzing", "stateful")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
PLAN = plan({"description": "fuzz"}, [("a.bin", b"x")])  # a report, a file's body, the file
JSON_OR_BYTES = (dict, list, str, int, float, bool, bytes)


def fuzz_config(
    phase: str, max_examples: int = FUZZING_EXAMPLES, *, shrink: bool = True
) -> schemathesis.Config:
    """Run ``phase`` alone with the checks above, deterministically."""
    phases: dict[str, dict[str, Any]] = {name: {"enabled": name == phase} for name in PHASES}
    for name in ("examples", "coverage", "fuzzing"):
        phases[name]["extra-data-sources"] = {"responses": False}
    phases["fuzzing"]["error-feedback"] = {"enabled": False}
    phases["examples"]["fill-missing"] = True
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # What the intake page's fetch() sends (cross-site refusal: test_api_drafts.py).
            "headers": {"Sec-Fetch-Site": "same-origin"},
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                "no-shrink": not shrink,
            },
            "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
            "phases": phases,
        }
    )


@dataclass
class LiveDrafts:
    """Real drafts to point generated requests at, so that they get past the token check.

    Chunk uploads go to a draft with nothing uploaded yet; the other routes to one with every
    object uploaded (so finalize gets as far as the keys it was sent). A draft that a request
    deleted or finalized is replaced when next needed. Half the draft creations declare a
    valid plan, and one in eight of those is for the real desk.
    """

    client: FlaskClient
    desk_slug: str
    aimed: set[str] = field(default_factory=set)  # ids of the cases pointed at a real draft
    reached: int = 0  # of those, how many were answered with a success
    drafts: dict[bool, PythonBrowser] = field(default_factory=dict)

    def install(self, schema: schemathesis.BaseSchema) -> None:
        @schema.hook
        def map_case(context: Any, case: schemathesis.Case) -> schemathesis.Case:
            self.aim(case)
            return case

        @schema.hook
        def after_call(context: Any, case: schemathesis.Case, response: Any) -> None:
            self.notice(case, response.status_code)

    def aim(self, case: schemathesis.Case) -> None:
        # Which cases are aimed follows from what was generated only: deterministic.
        body = case.body if isinstance(case.body, JSON_OR_BYTES) else None  # or NOT_SET
        generated = (case.operation.label, case.path_parameters, case.query, body)
        share = zlib.crc32(repr(generated).encode()) % 8
        if case.operation.path.endswith("/drafts"):
            if isinstance(case.body, dict) and share < 4:
                case.body["objects"] = [
                    {"kind": p.kind, "ciphertext_size": p.ciphertext_size} for p in PLAN
                ]
                if share == 0:
                    case.body["desk"] = self.desk_slug
                self.aimed.add(case.id)
        elif share < (2 if case.method.upper() == "DELETE" else 4):
            browser = self.draft(uploaded=not case.operation.path.endswith("/chunks"))
            parameters = dict(case.path_parameters)
            parameters["draft_id"] = browser.draft_id
            if "object_id" in parameters:
                index = zlib.crc32(repr(parameters["object_id"]).encode()) % len(PLAN)
                parameters["object_id"] = browser.object_id(index)
            case.path_parameters = parameters
            case.headers.update(browser.headers())
            self.aimed.add(case.id)

    def draft(self, uploaded: bool) -> PythonBrowser:
        if uploaded not in self.drafts:
            browser = PythonBrowser(self.client, PLAN)
            assert browser.create(self.desk_slug).status_code == 201
            if uploaded:
                browser.upload_all()
            self.drafts[uploaded] = browser
        return self.drafts[uploaded]

    def notice(self, case: schemathesis.Case, status: int) -> None:
        sent_as_described = case.method.upper() == case.operation.method.upper()
        if case.id in self.aimed and sent_as_described and status < 300:
            self.reached += 1
        ends_draft = case.method.upper() == "DELETE" or case.operation.path.endswith("/finalize")
        if ends_draft and status < 300:
            draft_id = case.path_parameters.get("draft_id")
            for uploaded, browser in list(self.drafts.items()):
                if browser.draft_id == draft_id:
                    del self.drafts[uploaded]


@dataclass
class FuzzRun:
    """What one engine run found: failed checks (with a curl line), errors and skips."""

    problems: list[str] = field(default_factory=list)
    answers: Counter[tuple[str, int, str]] = field(default_factory=Counter)

    def report(self) -> str:
        return "\n".join(self.problems)


def error_code(response: Any) -> str:
    """The ``error`` of a JSON error body, else ``""``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def run_engine(schema: schemathesis.BaseSchema) -> FuzzRun:
    """Drive the enabled phase to the end; collect anything that is not a clean pass."""
    run = FuzzRun()

    @schema.hook
    def after_call(context: Any, case: schemathesis.Case, response: Any) -> None:
        run.answers[(case.operation.label, response.status_code, error_code(response))] += 1

    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.status == Status.SKIP:
                run.problems.append(f"skipped {event.recorder.label}: {event.skip_reason}")
            run.problems.extend(_failed_checks(event))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            run.problems.append(f"error: {event!r}")
        elif isinstance(event, events.PhaseFinished) and event.phase.is_enabled:
            if event.status == Status.SKIP:
                run.problems.append(f"phase {event.phase.name} skipped")
        elif isinstance(event, events.EngineFinished):
            if event.stop_reason != StopReason.COMPLETED:
                run.problems.append(f"stopped early: {event.stop_reason}")
            run.problems.extend(f"after the run: {failure!r}" for failure in event.failures)
    return run


def _failed_checks(event: events.ScenarioFinished) -> Iterator[str]:
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.failure_info is not None:
                failure = check.failure_info.failure
                yield (
                    f"{event.phase} {event.recorder.label}: {check.name}: {failure.title}: "
                    f"{failure.message}\n    {check.failure_info.code_sample}"
                )


@pytest.fixture
def live_drafts(app: Flask, desk: ReceivingDesk) -> LiveDrafts:
    return LiveDrafts(app.test_client(), desk.slug)


def fuzz(app: Flask, live_drafts: LiveDrafts, config: schemathesis.Config) -> FuzzRun:
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app, config=config)
    live_drafts.install(schema)
    return run_engine(schema)


@pytest.mark.parametrize("phase", ["examples", "coverage", "fuzzing"])
def test_no_request_gets_a_server_error_or_an_answer_the_description_does_not_name(
    app: Flask, live_drafts: LiveDrafts, phase: str
) -> None:
    run = fuzz(app, live_drafts, fuzz_config(phase))
    assert not run.problems, run.report()
    exercised = {label for label, _, _ in run.answers}
    assert len(exercised) == 5, run.answers  # every operation but openapi.json itself
    assert live_drafts.reached, run.answers  # some requests got past the token check


def test_a_server_error_is_reported(
    app: Flask, live_drafts: LiveDrafts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(drafts, "read_draft", broken)
    run = fuzz(app, live_drafts, fuzz_config("fuzzing", max_examples=5, shrink=False))
    server_errors = [problem for problem in run.problems if "not_a_server_error" in problem]
    assert any("GET /api/v1/drafts/{draft_id}" in problem for problem in server_errors)


def test_the_description_declares_no_links_so_there_is_no_stateful_phase(
    client: FlaskClient,
) -> None:
    """Stateful testing follows OpenAPI links; the document declares none. Schemathesis can
    infer some (POST /drafts to DELETE, GET to the chunk and finalize routes), but none can
    carry the draft's bearer token, so every step after the first would stop at 401."""
    paths = client.get(OPENAPI_PATH).get_json()["paths"]
    responses = [
        response
        for item in paths.values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
    ]
    assert not any("links" in response for response in responses), (
        "The description declares links now: enable the stateful phase in this file."
    )

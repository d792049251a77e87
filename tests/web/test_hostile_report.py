"""A hostile API client writes any JSON into a report; both readers still show it (issue 20).

The server cannot check a report the browser encrypted, so the prosecutor's tip page and the
tipster's thread must render any JSON value of a decrypted report as escaped text, never
answer 500. The page's own client only ever sends strings and lists of strings.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from flask import Flask

from app.models import StaffRole
from app.web.report_view import ShownField, field_text, shown_fields
from tests.web.api_steps import PythonBrowser, plan
from tests.web.conftest import ReceivingDesk
from tests.web.staff_steps import make_staff, sign_in
from tests.web.test_api_js_client import run_node
from tests.web.tipster_steps import log_in

HUGE = "ivory " * 40_000
HOSTILE_REPORT: dict[str, Any] = {
    "description": 5,
    "listing_urls": [1, "https://x.example/<b>bold</b>", None, {"a": [True]}],
    "platform_name": True,
    "platform_type": None,
    "seller_handle": {"<script>": "alert(1)"},
    "seller_contacts": ["<i>first</i>", "second"],
    "species": 1.5,
    "quantity": False,
    "price": 0,
    "code_words": "<script>alert('code')</script>",
    "how_known": HUGE,
    "date_seen": -(10**30),
    "still_online": [],
    "<img src=x onerror=alert(1)>": "an unknown field's name is markup",
    "extra": [[[["deep"]]]],
}


def _finalized_api_tip(app: Flask, desk: ReceivingDesk, fields: dict[str, Any]) -> PythonBrowser:
    tipster = PythonBrowser(app.test_client(), plan(fields))
    assert tipster.create(desk.slug).status_code == 201
    tipster.upload_all()
    finalized = tipster.finalize()
    assert finalized.status_code == 200, finalized.get_json()
    return tipster


def _shown(page: str) -> dict[str, str]:
    """The report's <dt>/<dd> pairs, unescaped."""
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, flags=re.DOTALL)
    return {html.unescape(label): html.unescape(value) for label, value in pairs}


def test_a_report_of_any_json_values_is_shown_escaped_to_the_prosecutor_and_the_tipster(
    app: Flask, desk: ReceivingDesk
) -> None:
    prosecutor = app.test_client()
    sign_in(app, prosecutor, make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug]))
    tipster = _finalized_api_tip(app, desk, HOSTILE_REPORT)

    response = prosecutor.get(f"/staff/tips/{tipster.draft_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = _shown(page)
    assert shown["What did you see?"] == "5"
    assert shown["Links to the listings or posts"] == json.dumps(
        [1, "https://x.example/<b>bold</b>", None, {"a": [True]}], ensure_ascii=False
    )
    assert shown["Website or app"] == "true"
    assert shown["Seller's name or handle"] == '{"<script>": "alert(1)"}'
    assert shown["Phone numbers or messaging IDs"] == "<i>first</i>\nsecond"
    assert shown["Species"] == "1.5"
    assert shown["Quantity"] == "false"
    assert shown["Price and currency"] == "0"
    assert shown["Code words used"] == "<script>alert('code')</script>"
    assert shown["How do you know about this? (optional)"] == HUGE
    assert shown["Date you saw it"] == str(-(10**30))
    assert shown["<img src=x onerror=alert(1)>"] == "an unknown field's name is markup"
    assert shown["extra"] == '[[[["deep"]]]]'
    assert "Type of platform" not in shown and "Is the listing still online?" not in shown
    for markup in ("<script>", "<b>bold", "<i>first", "<img src=x"):
        assert markup not in page

    reader = app.test_client()
    assert log_in(reader, tipster.draft["code"]).status_code == 303
    response = reader.get("/status/thread")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = _shown(page)
    assert shown["What did you see?"] == "5"
    assert shown["Website or app"] == "true"
    assert shown["Code words used"] == "<script>alert('code')</script>"
    assert "<img src=x onerror=alert(1)>" not in shown  # the tipster sees the form's fields
    for markup in ("<script>", "<b>bold", "<i>first", "<img src=x"):
        assert markup not in page


def test_a_field_value_becomes_text_whatever_its_json_type() -> None:
    assert field_text("a <b>") == "a <b>"
    assert field_text(["a", "b"]) == "a\nb"
    assert field_text([]) == ""
    assert field_text(["a", 1]) == '["a", 1]'
    assert field_text(True) == "true"
    assert field_text(None) == "null"
    assert field_text(0) == "0"
    assert field_text({"b": 1, "a": "ü"}) == '{"a": "ü", "b": 1}'
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert field_text(deep) == "(a value this page cannot show)"


def test_blank_fields_are_left_out_and_a_report_that_is_no_object_is_shown_whole() -> None:
    values = {"description": "", "species": None, "listing_urls": [], "quantity": 0, "x": {}}
    assert shown_fields(values, with_unknown=True) == [
        ShownField("quantity", "Quantity", "0", known=True)
    ]
    assert shown_fields([1, 2], with_unknown=True) == [
        ShownField("", "Report", "[1, 2]", known=False)
    ]
    assert shown_fields("text", with_unknown=False) == []


READ_REPORT_DRIVER = """
import { readReport } from '%(js)s/report_fields.mjs';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
// A stand-in for the form: what readReport reads of each control (a DOM value is a string).
const controls = request.controls.map(([name, kind, value, choices]) => ({
  name,
  value,
  dataset: { kind },
  options: choices.map((choice) => ({ value: choice })),
}));
const form = { querySelectorAll: () => controls };
const messages = new Proxy({}, { get: (_target, name) => String(name) });
const result = readReport(form, { fileCount: 0, today: '2026-01-31', messages });
process.stdout.write(JSON.stringify({ fields: result.fields ?? null, errors: !!result.errors }));
"""


def test_the_page_client_sends_only_strings_and_lists_of_strings(tmp_path: Path) -> None:
    controls = [
        ["description", "textarea", "5", []],
        ["listing_urls", "urls", "https://a.example/1\r\nhttps://b.example/2", []],
        ["platform_name", "text", "true", []],
        ["platform_type", "select", "forum", ["", "forum", "shop"]],
        ["quantity", "text", "null", []],
        ["price", "text", "[1, 2]", []],
        ["date_seen", "date", "2026-01-15", []],
    ]
    answer = run_node({"controls": controls}, tmp_path, driver=READ_REPORT_DRIVER)
    assert answer["errors"] is False
    fields = answer["fields"]
    assert fields["listing_urls"] == ["https://a.example/1", "https://b.example/2"]
    assert fields["quantity"] == "null" and fields["description"] == "5"
    for value in fields.values():
        assert isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        )

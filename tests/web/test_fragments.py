"""Fragments rendered once per language (app/web/fragments.py): the code page's advice."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.web import fragments
from tests.web.conftest import ReceivingDesk, csrf_token
from tests.web.tipster_steps import CODE_PATTERN, submit_report

ADVICE = "Keep these 8 words safe"


def test_each_code_page_shows_its_own_code_beside_advice_rendered_once(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    fragments._rendered.clear()
    pages = []
    for _ in range(2):
        submitted = submit_report(client, desk.slug, {"description": "Ivory for sale"})
        assert submitted.response.status_code == 200
        pages.append((submitted.code, submitted.response.get_data(as_text=True)))

    assert pages[0][0] != pages[1][0]
    for code, page in pages:
        assert ADVICE in page
        assert " ".join(CODE_PATTERN.findall(page)) == code
        assert f'name="code" type="hidden" value="{code}"' in page
    assert list(fragments._rendered) == [("tipster/_code_advice.html", "en")]
    advice = fragments._rendered[("tipster/_code_advice.html", "en")]
    assert ADVICE in advice
    assert not CODE_PATTERN.search(advice) and "csrf_token" not in advice


def test_the_practice_page_keeps_the_code_and_the_advice(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    code = submit_report(client, desk.slug, {"description": "Ivory for sale"}).code
    assert code is not None
    answer = client.post(
        "/submit/practice", data={"csrf_token": csrf_token(client), "code": code, "attempt": code}
    )
    practised = answer.get_data(as_text=True)
    assert "You typed your code right" in practised
    assert ADVICE in practised
    assert f'name="code" type="hidden" value="{code}"' in practised

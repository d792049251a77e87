from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from app import create_app
from tests.web.conftest import make_test_config


def test_landing_page_explains_and_offers_both_ways_in(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Report online wildlife trafficking" in page
    assert "Tor Browser" in page
    assert 'href="/submit"' in page and 'href="/status"' in page
    assert "<script" not in page  # the landing page works without JavaScript


def test_landing_page_uses_only_same_origin_assets(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page


def test_healthz_reports_database_blob_store_and_rate_limits(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "blob_store": "ok",
        "rate_limits": "ok",
    }


def test_healthz_says_unavailable_without_leaking_details(tmp_path: Path) -> None:
    config = make_test_config("sqlite:////nonexistent-dir/tipline.sqlite3", tmp_path / "inst")
    broken_app = create_app(config)
    response = broken_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "unavailable",
        "blob_store": "ok",
        "rate_limits": "ok",
    }
    assert "nonexistent" not in response.get_data(as_text=True)

"""Public pages anyone may see: the landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from app.context import get_blob_store, get_engine
from app.security import rate_limits_reachable
from app.services.health import check_health

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    report = check_health(get_engine(), get_blob_store(), rate_limits_reachable)
    return jsonify(report.as_json()), 200 if report.healthy else 503

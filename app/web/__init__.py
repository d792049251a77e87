"""Blueprints: thin views that parse a request, call one service, render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(flask_app: Flask) -> None:
    from app.web.api import bp as api_bp
    from app.web.public import bp as public_bp
    from app.web.staff import bp as staff_bp
    from app.web.tipster import bp as tipster_bp
    from app.web.vendor import bp as vendor_bp

    flask_app.register_blueprint(public_bp)
    flask_app.register_blueprint(tipster_bp)
    flask_app.register_blueprint(api_bp)
    flask_app.register_blueprint(vendor_bp)
    flask_app.register_blueprint(staff_bp)

    # The case officers' board and the admin area.
    from app.web.admin import bp as admin_bp
    from app.web.approvals import bp as approvals_bp
    from app.web.board import bp as board_bp

    flask_app.register_blueprint(board_bp)
    flask_app.register_blueprint(admin_bp)
    flask_app.register_blueprint(approvals_bp)

    from app.web.fragments import register_fragment_helpers
    from app.web.report_view import register_report_helpers
    from app.web.staff_nav import register_template_helpers

    register_template_helpers(flask_app)
    register_report_helpers(flask_app)
    register_fragment_helpers(flask_app)

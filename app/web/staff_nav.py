"""What every staff page's menu offers: links to the other staff areas this instance has."""

from __future__ import annotations

from flask import Flask, current_app, url_for

# Links to other staff areas, shown in the menu when their blueprint is registered.
NAV_LINKS = {
    "prosecutor": [("board.index", "Board"), ("approvals.index", "Approvals")],
    "officer": [("board.index", "Board")],
    "admin": [("admin.index", "Admin")],
}


def staff_nav_links(role: str) -> list[tuple[str, str]]:
    return [link for link in NAV_LINKS.get(role, []) if link[0] in current_app.view_functions]


def workflow_url(tip_id: str) -> str | None:
    """The tip's workflow page (board blueprint), if this instance has one."""
    if "board.tip" not in current_app.view_functions:
        return None
    return url_for("board.tip", tip_id=tip_id)


def register_template_helpers(flask_app: Flask) -> None:
    flask_app.jinja_env.globals["staff_nav_links"] = staff_nav_links
    flask_app.jinja_env.globals["workflow_url"] = workflow_url

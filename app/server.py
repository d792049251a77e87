"""Run the app: gunicorn in production and `make run`, Flask's debug server only on request."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _GunicornServer(BaseApplication):  # gunicorn ships no type hints: treated as Any
    def __init__(self, flask_app: Flask, options: dict[str, Any]) -> None:
        self.flask_app = flask_app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.flask_app


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        # Large uploads over Tor are slow; gthread workers are not killed while a request runs.
        "timeout": 120,
        "accesslog": None,  # no access log: tipster visits must leave no trace (DESIGN §2.3)
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1,::1",
        # Unused, and its default path (~/.gunicorn/gunicorn.ctl) is one per host, not per instance.
        "control_socket_disable": True,
    }


def run_gunicorn(flask_app: Flask, *, host: str, port: int, workers: int) -> None:
    _GunicornServer(flask_app, gunicorn_options(host, port, workers)).run()


def run_debug_server(flask_app: Flask, host: str, port: int) -> None:
    # Werkzeug's request log names every path; silence it like gunicorn's access log.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    flask_app.run(host=host, port=port, debug=True, use_reloader=False)

"""Domain errors carry no HTTP status; app/web/errors.py is the one mapping."""

from __future__ import annotations

import importlib
import pkgutil

import app
from app import errors
from app.web.errors import STATUS_OF_KIND, status_of


def _every_domain_error() -> list[type[errors.DomainError]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    found: list[type[errors.DomainError]] = []
    pending = [errors.DomainError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


def test_no_domain_error_carries_an_http_status() -> None:
    carrying = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in _every_domain_error()
        if any("status_code" in vars(base) for base in kind.__mro__)
    ]
    assert carrying == []


def test_every_domain_error_has_exactly_one_kind_in_the_table() -> None:
    for kind in _every_domain_error():
        if kind is errors.DomainError:
            continue
        kinds = [base for base in kind.__mro__ if base in STATUS_OF_KIND]
        assert len(kinds) == 1, f"{kind.__qualname__} has kinds {kinds}"


def test_the_kinds_map_to_the_statuses_the_api_documents() -> None:
    assert status_of(errors.NotFound("x")) == 404
    assert status_of(errors.NotPermitted("x")) == 403
    assert status_of(errors.TooLarge("x")) == 413
    assert status_of(errors.DomainError("x")) == 400
    from app.services.access import TipNotOnYourDesks
    from app.services.staff_auth import AccountLocked, SignInFailed

    assert status_of(TipNotOnYourDesks()) == 404
    assert status_of(AccountLocked()) == 429
    assert status_of(SignInFailed()) == 403 and SignInFailed.keep_effects

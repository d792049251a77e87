"""Model factories: valid rows with random keys and digests, overridable per test."""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import (
    Author,
    Desk,
    EncryptedObject,
    ObjectKind,
    Scope,
    SealedKey,
    StaffRole,
    StaffUser,
    Tip,
    TipState,
)

TODAY = date(2026, 3, 14)


class ModelFactory:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._numbers = itertools.count(1)

    def _add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def desk(self, **overrides: Any) -> Desk:
        number = next(self._numbers)
        values: dict[str, Any] = {
            "slug": f"desk-{number}",
            "name": f"Desk {number}",
            "languages": ["en"],
            "created_on": TODAY,
        }
        values.update(overrides)
        desk: Desk = self._add(Desk(**values))
        return desk

    def staff_user(self, **overrides: Any) -> StaffUser:
        number = next(self._numbers)
        values: dict[str, Any] = {
            "username": f"staff{number}",
            "display_name": f"Staff {number}",
            "role": StaffRole.PROSECUTOR,
            "created_at": datetime.now(UTC),
        }
        values.update(overrides)
        user: StaffUser = self._add(StaffUser(**values))
        return user

    def tip(self, *, desk: Desk | None = None, **overrides: Any) -> Tip:
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "desk_id": (desk or self.desk()).id,
            "state": TipState.SUBMITTED,
            "lookup_digest": os.urandom(32),
            "tip_salt": os.urandom(16),
            "tipster_public_key": os.urandom(32),
            "thread_commitment": os.urandom(32),
            "internal_commitment": os.urandom(32),
            "received_on": TODAY,
            "last_activity_on": TODAY,
            "activity_seq": next(self._numbers),
        }
        values.update(overrides)
        tip: Tip = self._add(Tip(**values))
        return tip

    def sealed_key(self, tip: Tip, **overrides: Any) -> SealedKey:
        values: dict[str, Any] = {
            "tip_id": tip.id,
            "key_id": os.urandom(16).hex(),
            "scope": Scope.THREAD,
            "sealed": os.urandom(96),
        }
        values.update(overrides)
        sealed: SealedKey = self._add(SealedKey(**values))
        return sealed

    def encrypted_object(self, tip: Tip, **overrides: Any) -> EncryptedObject:
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "tip_id": tip.id,
            "scope": Scope.THREAD,
            "kind": ObjectKind.REPORT,
            "author": Author.TIPSTER,
            "seq": next(self._numbers),
            "ciphertext_size": 4096 + 24 + 17,
            "created_on": TODAY,
        }
        values.update(overrides)
        row: EncryptedObject = self._add(EncryptedObject(**values))
        return row

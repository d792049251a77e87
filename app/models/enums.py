"""The value sets of the schema's short-string columns (each has a matching CHECK constraint).

Adding a value needs a migration that rewrites the CHECK; renaming one needs a data migration.
"""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    ADMIN = "admin"
    PROSECUTOR = "prosecutor"  # the only role that ever holds a private key
    OFFICER = "officer"


class TipState(StrEnum):
    """Staff see a tip only once it is submitted; a draft is a resumable JavaScript upload."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class TipStatus(StrEnum):
    """The staff workflow (DESIGN §5 "Workflow")."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    TRIAGED = "triaged"
    INVESTIGATING = "investigating"
    REFERRED = "referred"
    FEEDBACK_GIVEN = "feedback_given"
    CLOSED = "closed"


class TipsterStatus(StrEnum):
    """The coarse status a tipster sees; which workflow status maps to which is a service rule."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    IN_REVIEW = "in_review"
    ACTION_TAKEN = "action_taken"
    CLOSED = "closed"


class Scope(StrEnum):
    """Which data key encrypts an object (DESIGN §4 "Scopes and data keys")."""

    THREAD = "thread"  # the tipster holds this key too
    INTERNAL = "internal"  # desk recipients only


class ObjectKind(StrEnum):
    REPORT = "report"
    MESSAGE = "message"
    FILE = "file"
    NOTE = "note"
    BODY = "body"  # a file's detached body, read through the file object that names it


class Author(StrEnum):
    TIPSTER = "tipster"
    STAFF = "staff"


class BlobState(StrEnum):
    """Database blob backend: only published blobs can be read."""

    STAGED = "staged"
    PUBLISHED = "published"

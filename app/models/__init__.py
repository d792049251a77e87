"""The schema as SQLAlchemy models. Migrations (``migrations/``) are the only way it changes.

Models hold data only: encryption and business rules live in ``app.services``.
"""

from app.models.audit import AuditEvent
from app.models.base import NAMING_CONVENTION, Base
from app.models.blobs import Blob, BlobChunk
from app.models.desks import (
    Desk,
    DeskJurisdiction,
    DeskMembership,
    DeskRecoveryKey,
    DeskStatusText,
)
from app.models.enums import (
    Author,
    BlobState,
    ObjectKind,
    Scope,
    StaffRole,
    TipState,
    TipStatus,
    TipsterStatus,
)
from app.models.reads import TipRead
from app.models.sessions import StaffSession, TipsterSession
from app.models.staff import StaffKey, StaffUser
from app.models.stats import StatsRollup
from app.models.tips import EncryptedObject, SealedKey, Tip
from app.models.workflow import (
    DeskGuidance,
    Outcome,
    OutcomeKind,
    PreservationRequest,
    TagKind,
    TipTag,
)

__all__ = [
    "NAMING_CONVENTION",
    "AuditEvent",
    "Author",
    "Base",
    "Blob",
    "BlobChunk",
    "BlobState",
    "Desk",
    "DeskGuidance",
    "DeskJurisdiction",
    "DeskMembership",
    "DeskRecoveryKey",
    "DeskStatusText",
    "EncryptedObject",
    "ObjectKind",
    "Outcome",
    "OutcomeKind",
    "PreservationRequest",
    "Scope",
    "SealedKey",
    "StaffKey",
    "StaffRole",
    "StaffSession",
    "StaffUser",
    "StatsRollup",
    "TagKind",
    "Tip",
    "TipRead",
    "TipState",
    "TipStatus",
    "TipTag",
    "TipsterSession",
    "TipsterStatus",
]

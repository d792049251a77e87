"""Who may touch a draft: the stateless draft token, and whether the draft is still open.

The draft token is an HMAC of the draft id under the app's secret key, so nothing about it is
stored; a wrong token is refused before the database is asked anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from app.models import TipState
from app.services.draft_errors import AlreadySubmitted, BadDraftToken, DraftExpired, DraftNotFound
from crypto.ids import id_from_str

TOKEN_LABEL = b"tipline/draft/"


@dataclass(frozen=True)
class DraftCredentials:
    """What a client presents: the draft id from the URL and the token from its header."""

    draft_id: str
    token: str


def draft_token(secret_key: bytes, draft_id: str) -> str:
    """``base64url(HMAC-SHA256(secret_key, "tipline/draft/" || tip_id))``, unpadded.

    :raises ValueError: ``draft_id`` is not a canonical UUID string.
    """
    mac = hmac.new(secret_key, TOKEN_LABEL + id_from_str(draft_id), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def check_token(secret_key: bytes, credentials: DraftCredentials) -> None:
    """:raises DraftNotFound: not a draft id. :raises BadDraftToken: not this draft's token."""
    try:
        expected = draft_token(secret_key, credentials.draft_id)
    except ValueError:
        raise DraftNotFound() from None
    if not hmac.compare_digest(expected.encode(), credentials.token.encode("utf-8", "replace")):
        raise BadDraftToken()


def check_still_open(state: TipState, expires_on: date | None, today: date) -> None:
    """:raises AlreadySubmitted: / :raises DraftExpired: (see ``drafts.open_draft``)."""
    if state is not TipState.DRAFT:
        raise AlreadySubmitted()
    if expires_on is None or expires_on < today:
        raise DraftExpired()

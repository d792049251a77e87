"""What can go wrong with a draft upload; app.web.errors turns each into a JSON error."""

from __future__ import annotations

from app.errors import Conflict, InvalidInput, NoLongerAvailable, NotFound, NotSignedIn, TooLarge


class BadDraftToken(NotSignedIn):
    code = "bad_token"

    def __init__(self) -> None:
        super().__init__("This upload's token is missing or wrong for this draft.")


class DraftNotFound(NotFound):
    code = "draft_not_found"

    def __init__(self) -> None:
        super().__init__(
            "There is no such draft: it was sent already, cancelled, or deleted after 24 hours."
        )


class DraftExpired(NoLongerAvailable):
    code = "draft_expired"

    def __init__(self) -> None:
        super().__init__(
            "This draft is more than a day old and will be deleted. Please start again."
        )


class AlreadySubmitted(Conflict):
    code = "already_submitted"

    def __init__(self) -> None:
        super().__init__("This tip was already sent; nothing more can be added to the draft.")


class ObjectNotFound(NotFound):
    code = "object_not_found"

    def __init__(self) -> None:
        super().__init__("This draft has no object with that id.")


class ChunkTooLarge(TooLarge):
    code = "chunk_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"A chunk batch may carry at most {limit} bytes.")


class BadChunk(InvalidInput):
    code = "bad_chunk"


class ChunkOutOfOrder(Conflict):
    code = "offset_mismatch"

    def __init__(self, stored: int, offered: int) -> None:
        super().__init__(
            f"The server holds {stored} bytes of this object; a chunk starting at byte "
            f"{offered} cannot be appended. Resume from byte {stored}."
        )
        self.stored = stored


class DraftTooLarge(TooLarge):
    code = "draft_too_large"


class UploadIncomplete(Conflict):
    code = "upload_incomplete"

    def __init__(self, missing: int) -> None:
        super().__init__(
            f"{missing} encrypted object(s) of this draft are not fully uploaded yet; "
            "upload the rest, then finalize."
        )


class RecipientsChanged(Conflict):
    code = "recipients_changed"

    def __init__(self) -> None:
        super().__init__(
            "The sealed keys do not match the desk's current recipients and the tipster's key. "
            "Fetch the draft again and seal the data keys to the recipients it lists."
        )

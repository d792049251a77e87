"""How a decrypted evidence file is offered for download: always as an attachment, never
shown inline, under a name that cannot escape the browser's download folder.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from crypto.filenames import base_name


def attachment_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the exact UTF-8 name (RFC 6266, RFC 5987).

    The name is untrusted (the browser intake writes it inside the ciphertext): only its
    :func:`crypto.filenames.base_name` is offered, without dots or spaces around.
    """
    cleaned = base_name(name).strip(" .") or "evidence"
    fallback = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in fallback) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"

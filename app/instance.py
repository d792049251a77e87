"""Create the instance directory and its secrets, once, without ever overwriting them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.config import PEPPER_BYTES, PEPPER_FILE, SECRET_KEY_FILE

BLOB_DIR = "blobs"


def init_instance(data_dir: Path) -> list[Path]:
    """Make ``data_dir`` (0700), its blob directory and missing secret files (0600).

    Idempotent: existing secrets are kept, so running it twice never loses data.
    Returns the files it created.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (data_dir / BLOB_DIR).mkdir(mode=0o700, exist_ok=True)
    created = []
    for name, size in ((SECRET_KEY_FILE, 32), (PEPPER_FILE, PEPPER_BYTES)):
        path = data_dir / name
        if _write_new_secret(path, secrets.token_hex(size)):
            created.append(path)
    return created


def _write_new_secret(path: Path, value: str) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as secret_file:
        secret_file.write(value + "\n")
    return True

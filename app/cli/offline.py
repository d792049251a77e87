"""Offline commands of ``tipline``: ``keys generate`` and ``decrypt``.

Meant for an air-gapped machine: this module imports only click and the crypto package
(no Flask, no database, no configuration). Every rejection prints one line on stderr and
exits with status 2; ``decrypt`` leaves nothing partial in ``--out``.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import click

from crypto.bundle import check_output_dir, decrypt_bundle
from crypto.errors import CryptoError
from crypto.fingerprint import fingerprint
from crypto.keyfile import (
    MAX_KEY_FILE_BYTES,
    dump_key_file,
    is_wrapped_key_file,
    load_key_file,
    read_public_key_any,
)
from crypto.keys import generate_keypair
from crypto.wrapping import DEFAULT_STAFF_MEMLIMIT, DEFAULT_STAFF_OPSLIMIT

MAX_PASSPHRASE_BYTES = 4096


class OfflineCommandFailed(click.ClickException):
    """Printed as one line on stderr; the command exits with status 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        message = " ".join(self.format_message().split())  # always a single line
        click.echo(f"tipline: {message}", err=True)


def _os_failure(error: OSError) -> OfflineCommandFailed:
    where = f" ({error.filename})" if error.filename else ""
    return OfflineCommandFailed(f"{error.strerror or 'input/output error'}{where}.")


def _read_small_file(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as source:
            data = source.read(limit + 1)
    except OSError as error:
        raise _os_failure(error) from None
    if len(data) > limit:
        raise OfflineCommandFailed(f"{path} is too large.")
    return data


def _read_passphrase(path: Path) -> bytes:
    """The file's bytes without one trailing newline (``\\n`` or ``\\r\\n``)."""
    passphrase = _read_small_file(path, MAX_PASSPHRASE_BYTES)
    passphrase = passphrase.removesuffix(b"\n").removesuffix(b"\r")
    if not passphrase:
        raise OfflineCommandFailed("The passphrase file is empty.")
    return passphrase


def _write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600, refusing to overwrite; no partial file on failure."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise OfflineCommandFailed(f"{path} already exists; refusing to overwrite it.") from None
    except OSError as error:
        raise _os_failure(error) from None
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        path.unlink(missing_ok=True)
        raise _os_failure(error) from None


_PATH = click.Path(dir_okay=False, path_type=Path)


@click.group("keys")
def keys_group() -> None:
    """Offline key files (recovery keys); run these on an air-gapped machine."""


@keys_group.command("generate")
@click.option("--out", "out_path", required=True, type=_PATH, help="Key file to create.")
@click.option(
    "--passphrase-file",
    type=_PATH,
    help="Protect the secret key with the passphrase in this file (one trailing newline "
    "is ignored).",
)
@click.option(
    "--kdf-opslimit",
    type=int,
    default=DEFAULT_STAFF_OPSLIMIT,
    show_default=True,
    help="Argon2id passes for the passphrase.",
)
@click.option(
    "--kdf-memlimit",
    type=int,
    default=DEFAULT_STAFF_MEMLIMIT,
    show_default=True,
    help="Argon2id memory for the passphrase, in bytes.",
)
def keys_generate_command(
    out_path: Path, passphrase_file: Path | None, kdf_opslimit: int, kdf_memlimit: int
) -> None:
    """Create a new X25519 key file at --out and print its key id and public key."""
    passphrase = _read_passphrase(passphrase_file) if passphrase_file else None
    if out_path.exists() or out_path.is_symlink():
        raise OfflineCommandFailed(f"{out_path} already exists; refusing to overwrite it.")
    keypair = generate_keypair()
    try:
        document = dump_key_file(keypair, passphrase, opslimit=kdf_opslimit, memlimit=kdf_memlimit)
    except ValueError as error:
        raise OfflineCommandFailed(str(error)) from None
    _write_new_file(out_path, document)
    click.echo(f"key_id: {keypair.key_id}")
    click.echo(f"public_key: {base64.b64encode(keypair.public_key).decode('ascii')}")
    _echo_fingerprint(keypair.public_key)
    if passphrase is None:
        click.echo(
            "tipline: warning: the key file is not protected by a passphrase; keep it offline.",
            err=True,
        )


def _echo_fingerprint(public_key: bytes) -> None:
    printed = fingerprint(public_key)
    click.echo(f"fingerprint: {printed.spoken}")
    click.echo(f"fingerprint (hex): {printed.hex}")


@keys_group.command("fingerprint")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_fingerprint_command(key_file: Path) -> None:
    """Print the fingerprint of KEY_FILE's public key, to read out to the prosecutor who
    approves it as a desk's recovery key (its secret, wrapped or not, is not read)."""
    try:
        public_key = read_public_key_any(_read_small_file(key_file, MAX_KEY_FILE_BYTES))
    except CryptoError as error:
        raise OfflineCommandFailed(str(error)) from None
    _echo_fingerprint(public_key)


def _passphrase_for(key_data: bytes, passphrase_file: Path | None) -> bytes | None:
    if passphrase_file is not None:
        return _read_passphrase(passphrase_file)
    if not is_wrapped_key_file(key_data):
        return None
    if not sys.stdin.isatty():
        raise OfflineCommandFailed(
            "The key file is protected by a passphrase; pass --passphrase-file."
        )
    entered: str = click.prompt("Key file passphrase", hide_input=True, err=True)
    return entered.encode("utf-8")


@click.command("decrypt")
@click.option("--key", "key_path", required=True, type=_PATH, help="Key file to decrypt with.")
@click.option("--passphrase-file", type=_PATH, help="File holding the key file's passphrase.")
@click.argument("bundle", type=_PATH)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to create (absent or empty); nothing is written there on failure.",
)
def decrypt_command(
    key_path: Path, passphrase_file: Path | None, bundle: Path, out_dir: Path
) -> None:
    """Decrypt an exported BUNDLE with a key file into --out (report, messages, files)."""
    try:
        check_output_dir(out_dir)
        key_data = _read_small_file(key_path, MAX_KEY_FILE_BYTES)
        keypair = load_key_file(key_data, _passphrase_for(key_data, passphrase_file))
        summary = decrypt_bundle(bundle, keypair, out_dir)
    except FileExistsError:
        raise OfflineCommandFailed(f"{out_dir} exists and is not an empty directory.") from None
    except CryptoError as error:
        raise OfflineCommandFailed(str(error)) from None
    except OSError as error:
        raise _os_failure(error) from None
    click.echo(
        f"Decrypted into {out_dir}: {'a report, ' if summary.report else ''}"
        f"{summary.messages} messages or notes, {summary.files} files."
    )
    if summary.skipped_object_ids:
        click.echo(
            f"Skipped {len(summary.skipped_object_ids)} objects of a scope this key cannot open."
        )

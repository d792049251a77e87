"""``tipline keys generate`` and ``tipline decrypt`` (app/cli/offline.py) via CliRunner."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from bundle_factory import build_bundle, rewrite_bundle
from click.testing import CliRunner, Result
from crypto_testdata import REPO_ROOT

from crypto.keyfile import dump_key_file, load_key_file
from crypto.keys import generate_keypair

PASSPHRASE = b"tortoise shell, 12 kg"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def generate(cli: ModuleType, runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli.keys_group, ["generate", *args])


def decrypt(cli: ModuleType, runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli.decrypt_command, list(args))


def assert_rejected(result: Result, out: Path, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tipline: "), result.stderr
    assert fragment in lines[0]
    assert not out.exists() or not any(out.iterdir())
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tipline")]


def test_keys_generate_writes_a_private_key_file(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path
) -> None:
    key_path = tmp_path / "recovery.key"
    result = generate(offline_cli, runner, "--out", str(key_path))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    keypair = load_key_file(key_path.read_bytes())
    assert f"key_id: {keypair.key_id}" in result.stdout
    assert "public_key: " in result.stdout
    assert "not protected" in result.stderr


def test_keys_generate_with_passphrase_file(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path
) -> None:
    key_path, passphrase_path = tmp_path / "recovery.key", tmp_path / "pass.txt"
    passphrase_path.write_bytes(PASSPHRASE + b"\n")
    result = generate(
        offline_cli,
        runner,
        "--out",
        str(key_path),
        "--passphrase-file",
        str(passphrase_path),
        "--kdf-opslimit",
        "1",
        "--kdf-memlimit",
        "8192",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(key_path.read_bytes())
    assert "wrapped_secret_key" in document and document["kdf"]["opslimit"] == 1
    assert load_key_file(key_path.read_bytes(), PASSPHRASE).key_id in result.stdout


def test_keys_generate_refuses_to_overwrite(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path
) -> None:
    key_path = tmp_path / "recovery.key"
    key_path.write_text("precious")
    result = generate(offline_cli, runner, "--out", str(key_path))
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.stderr and len(result.stderr.splitlines()) == 1
    assert key_path.read_text() == "precious"


def test_keys_generate_rejects_an_empty_passphrase_or_bad_limits(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"\n")
    assert (
        generate(
            offline_cli, runner, "--out", str(tmp_path / "a.key"), "--passphrase-file", str(empty)
        ).exit_code
        == 2
    )
    good = tmp_path / "pass.txt"
    good.write_bytes(PASSPHRASE)
    result = generate(
        offline_cli,
        runner,
        "--out",
        str(tmp_path / "b.key"),
        "--passphrase-file",
        str(good),
        "--kdf-opslimit",
        "0",
    )
    assert result.exit_code == 2 and "opslimit" in result.stderr
    assert not (tmp_path / "a.key").exists() and not (tmp_path / "b.key").exists()


@pytest.fixture
def bundle_and_keys(tmp_path: Path) -> tuple:
    built = build_bundle(tmp_path / "tip.zip")
    plain = tmp_path / "plain.key"
    plain.write_bytes(dump_key_file(built.recipient))
    wrapped = tmp_path / "wrapped.key"
    wrapped.write_bytes(dump_key_file(built.recipient, PASSPHRASE, opslimit=1, memlimit=8192))
    passphrase = tmp_path / "pass.txt"
    passphrase.write_bytes(PASSPHRASE + b"\r\n")
    return built, plain, wrapped, passphrase


def test_decrypt_writes_identical_files(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, _, wrapped, passphrase = bundle_and_keys
    out = tmp_path / "out"
    result = decrypt(
        offline_cli,
        runner,
        "--key",
        str(wrapped),
        "--passphrase-file",
        str(passphrase),
        str(built.path),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "3 files" in result.stdout
    files = json.loads((out / "files.json").read_text(encoding="utf-8"))
    for entry in files:
        assert (out / entry["saved_as"]).read_bytes() == built.files[entry["name"]]
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["lang"] == "en"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tipline")]


def test_decrypt_with_plain_key_file(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, plain, _, _ = bundle_and_keys
    result = decrypt(
        offline_cli, runner, "--key", str(plain), str(built.path), "--out", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.output


def test_decrypt_rejects_a_wrong_passphrase(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, _, wrapped, _ = bundle_and_keys
    wrong = tmp_path / "wrong.txt"
    wrong.write_bytes(b"not it")
    out = tmp_path / "out"
    result = decrypt(
        offline_cli,
        runner,
        "--key",
        str(wrapped),
        "--passphrase-file",
        str(wrong),
        str(built.path),
        "--out",
        str(out),
    )
    assert_rejected(result, out, "passphrase is wrong")


def test_decrypt_without_passphrase_on_a_pipe_is_rejected(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, _, wrapped, _ = bundle_and_keys
    out = tmp_path / "out"
    result = decrypt(offline_cli, runner, "--key", str(wrapped), str(built.path), "--out", str(out))
    assert_rejected(result, out, "--passphrase-file")


def test_decrypt_rejects_a_bad_key_file(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, plain, _, _ = bundle_and_keys
    document = json.loads(plain.read_bytes())
    document["key_id"] = "0" * 32
    plain.write_text(json.dumps(document))
    out = tmp_path / "out"
    assert_rejected(
        decrypt(offline_cli, runner, "--key", str(plain), str(built.path), "--out", str(out)),
        out,
        "key_id",
    )


def test_decrypt_rejects_a_key_without_sealed_keys(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, _, _, _ = bundle_and_keys
    stranger = tmp_path / "stranger.key"
    stranger.write_bytes(dump_key_file(generate_keypair()))
    out = tmp_path / "out"
    assert_rejected(
        decrypt(offline_cli, runner, "--key", str(stranger), str(built.path), "--out", str(out)),
        out,
        "no sealed key",
    )


def test_decrypt_rejects_a_bad_bundle(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, plain, _, _ = bundle_and_keys

    def traversal(manifest: dict) -> dict:
        manifest["objects"][0]["path"] = "../../x.bin"
        return manifest

    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", manifest=traversal)
    out = tmp_path / "out"
    assert_rejected(
        decrypt(offline_cli, runner, "--key", str(plain), str(bad), "--out", str(out)),
        out,
        "unsafe",
    )


def test_decrypt_rejects_a_tampered_object_leaving_nothing(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, plain, _, _ = bundle_and_keys

    def tamper(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        last_object = [n for n, _ in members if n.startswith("objects/")][-1]
        return [(n, d[:-1] + bytes([d[-1] ^ 1]) if n == last_object else d) for n, d in members]

    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", members=tamper)
    out = tmp_path / "out"
    assert_rejected(
        decrypt(offline_cli, runner, "--key", str(plain), str(bad), "--out", str(out)),
        out,
        "failed authentication",
    )


def test_decrypt_refuses_a_non_empty_output_directory(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    built, plain, _, _ = bundle_and_keys
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = decrypt(offline_cli, runner, "--key", str(plain), str(built.path), "--out", str(out))
    assert result.exit_code == 2 and "not an empty directory" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_decrypt_reports_a_missing_bundle_in_one_line(
    offline_cli: ModuleType, runner: CliRunner, tmp_path: Path, bundle_and_keys: tuple
) -> None:
    _, plain, _, _ = bundle_and_keys
    out = tmp_path / "out"
    assert_rejected(
        decrypt(
            offline_cli, runner, "--key", str(plain), str(tmp_path / "nope.zip"), "--out", str(out)
        ),
        out,
        "No such file",
    )


def test_offline_commands_load_without_flask_or_the_database() -> None:
    offline_path = str(REPO_ROOT / "app" / "cli" / "offline.py")
    code = (
        "import importlib.util, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'flask', 'sqlalchemy', 'app', 'werkzeug'}:\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"spec = importlib.util.spec_from_file_location('offline', {offline_path!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(module.keys_group.name, module.decrypt_command.name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["keys", "decrypt"]

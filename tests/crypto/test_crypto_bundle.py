"""Bundles: writing, strict reading, and all-or-nothing offline decryption."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import warnings
import zipfile
from pathlib import Path

import pytest
from bundle_factory import build_bundle, detached_evidence_file, evidence_file, rewrite_bundle

from crypto.bundle import decrypt_bundle, read_bundle, sanitise_filename
from crypto.bundle.filenames import NameAllocator
from crypto.datakeys import commitment, generate_data_key
from crypto.errors import (
    BadBundle,
    CommitmentMismatch,
    DigestMismatch,
    NoSealedKey,
    TamperedCiphertext,
    WrongTip,
)
from crypto.ids import id_to_str, new_id
from crypto.keys import generate_keypair
from crypto.metadata import file_metadata, report_metadata
from crypto.objects import encrypt_object


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".tipline"))


def test_written_bundle_reads_back(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip", extra_files={"audit.json": b"[]"})
    bundle = read_bundle(built.path)
    assert bundle.tip_id == built.tip_id
    assert set(bundle.commitments) == {"thread", "internal"}
    assert len(bundle.objects) == 6 and len(bundle.sealed_keys) == 3
    assert bundle.extra_names == ("audit.json",)
    assert bundle.read_extra("audit.json") == b"[]"
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
        assert names[0] == "manifest.json"
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "tipline-bundle" and manifest["v"] == 1
    assert manifest["tip_id"] == id_to_str(built.tip_id)
    assert all(o["path"] == f"objects/{o['object_id']}.bin" for o in manifest["objects"])


def test_decrypted_bundle_holds_report_messages_and_identical_files(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    out = tmp_path / "out"
    summary = decrypt_bundle(built.path, built.recipient, out)
    assert summary.report and summary.messages == 2 and summary.files == 3
    assert summary.scopes == ("thread", "internal") and not summary.skipped_object_ids
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["fields"]["species"] == "pangolin" and report["scope"] == "thread"
    messages = json.loads((out / "messages.json").read_text(encoding="utf-8"))
    assert [m["kind"] for m in messages] == ["message", "note"]
    assert messages[1]["scope"] == "internal"
    files = json.loads((out / "files.json").read_text(encoding="utf-8"))
    assert [f["saved_as"] for f in files] == ["files/photo.jpg", "files/passwd", "files/chat.txt"]
    for entry in files:
        saved = (out / entry["saved_as"]).read_bytes()
        assert saved == built.files[entry["name"]]
        assert hashlib.sha256(saved).hexdigest() == entry["sha256"]
        assert stat.S_IMODE((out / entry["saved_as"]).stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


def test_tipster_key_opens_only_the_thread_scope(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    summary = decrypt_bundle(built.path, built.tipster, tmp_path / "out")
    assert summary.scopes == ("thread",) and len(summary.skipped_object_ids) == 1
    messages = json.loads((tmp_path / "out" / "messages.json").read_text(encoding="utf-8"))
    assert [m["kind"] for m in messages] == ["message"]


def test_empty_existing_output_directory_is_replaced(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    (tmp_path / "out").mkdir()
    decrypt_bundle(built.path, built.recipient, tmp_path / "out")
    assert (tmp_path / "out" / "files.json").exists()


def test_non_empty_output_directory_is_refused(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        decrypt_bundle(built.path, built.recipient, tmp_path / "out")
    assert os.listdir(tmp_path / "out") == ["keep.txt"]


def assert_rejected_without_trace(
    tmp_path: Path, bundle: Path, keypair, error: type[Exception]
) -> None:
    out = tmp_path / "out"
    with pytest.raises(error):
        decrypt_bundle(bundle, keypair, out)
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_bundle_without_a_key_for_us_is_rejected(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    assert_rejected_without_trace(tmp_path, built.path, generate_keypair(), NoSealedKey)


def test_sealed_key_of_another_tip_is_rejected(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip", seal_tip_id=new_id())
    assert_rejected_without_trace(tmp_path, built.path, built.recipient, WrongTip)


def test_wrong_commitment_is_rejected(tmp_path: Path) -> None:
    tip_id = new_id()
    wrong = {s: commitment(generate_data_key(), tip_id, s) for s in ("thread", "internal")}
    built = build_bundle(tmp_path / "tip.zip", tip_id=tip_id, commitments=wrong)
    assert_rejected_without_trace(tmp_path, built.path, built.recipient, CommitmentMismatch)


def test_tampered_object_is_rejected_and_nothing_is_written(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    target = f"objects/{id_to_str(built.object_ids['chat.txt'])}.bin"

    def flip(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [(n, d[:-5] + bytes([d[-5] ^ 1]) + d[-4:] if n == target else d) for n, d in members]

    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", members=flip)
    assert_rejected_without_trace(tmp_path, bad, built.recipient, TamperedCiphertext)


def test_file_not_matching_its_sha256_is_rejected(tmp_path: Path) -> None:
    scope, metadata, body = evidence_file("x.bin", b"real")
    metadata["sha256"] = hashlib.sha256(b"fake").hexdigest()
    built = build_bundle(tmp_path / "tip.zip", [(scope, metadata, body)])
    assert_rejected_without_trace(tmp_path, built.path, built.recipient, DigestMismatch)


def test_two_reports_are_rejected(tmp_path: Path) -> None:
    report = ("thread", report_metadata("en", {}), b"")
    built = build_bundle(tmp_path / "tip.zip", [report, report])
    assert_rejected_without_trace(tmp_path, built.path, built.recipient, BadBundle)


def set_object_path(path: str):
    def change(manifest: dict) -> dict:
        manifest["objects"][0]["path"] = path
        return manifest

    return change


@pytest.mark.parametrize(
    "manifest_change",
    [
        lambda m: {**m, "format": "other"},
        lambda m: {**m, "v": 2},
        lambda m: {**m, "v": 1.0},
        lambda m: {**m, "extra": True},
        lambda m: {k: v for k, v in m.items() if k != "commits"},
        lambda m: {**m, "tip_id": m["tip_id"].upper()},
        lambda m: {**m, "tip_id": m["tip_id"].replace("-", "")},
        lambda m: {**m, "commits": {"thread": m["commits"]["thread"]}},
        lambda m: {**m, "commits": {**m["commits"], "thread": "AAAA"}},
        lambda m: {**m, "sealed_keys": [{**m["sealed_keys"][0], "scope": "reply"}]},
        lambda m: {**m, "sealed_keys": [{**m["sealed_keys"][0], "sealed": "not base64!"}]},
        lambda m: {**m, "sealed_keys": [{**m["sealed_keys"][0], "key_id": "ABC"}]},
        lambda m: {**m, "sealed_keys": [m["sealed_keys"][0], m["sealed_keys"][0]]},
        lambda m: {**m, "sealed_keys": {}},
        lambda m: {**m, "objects": [m["objects"][0], m["objects"][0]]},
        lambda m: {**m, "objects": [{**m["objects"][0], "extra": 1}]},
        lambda m: {**m, "objects": [{**m["objects"][0], "scope": "reply"}]},
        set_object_path("../objects/x.bin"),
        set_object_path("/etc/passwd"),
        set_object_path("objects/../manifest.json"),
        set_object_path("objects\\x.bin"),
        set_object_path("objects//x.bin"),
        set_object_path("manifest.json"),
        set_object_path("objects/missing.bin"),
        lambda m: [m],
    ],
)
def test_bad_manifests_are_rejected(tmp_path: Path, manifest_change) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", manifest=manifest_change)
    with pytest.raises(BadBundle):
        read_bundle(bad)
    assert_rejected_without_trace(tmp_path, bad, built.recipient, BadBundle)


@pytest.mark.parametrize(
    "members_change",
    [
        lambda ms: [*ms, ("../evil.txt", b"x")],
        lambda ms: [*ms, ("/abs.txt", b"x")],
        lambda ms: [*ms, ("dir/", b"")],
        lambda ms: [*ms, (ms[1][0], ms[1][1])],
        lambda ms: [m for m in ms if m[0] != "manifest.json"],
        lambda ms: [(n, d[:-1]) if n.startswith("objects/") else (n, d) for n, d in ms],
        lambda ms: [(n, b'{"a":1,"a":2}') if n == "manifest.json" else (n, d) for n, d in ms],
    ],
)
def test_bad_zip_members_are_rejected(tmp_path: Path, members_change) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name on purpose
        bad = rewrite_bundle(built.path, tmp_path / "bad.zip", members=members_change)
    with pytest.raises(BadBundle):
        read_bundle(bad)


def test_non_zip_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(BadBundle):
        read_bundle(path)


def test_corrupted_member_crc_is_rejected(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip")
    data = bytearray(built.path.read_bytes())
    ciphertext_start = data.index(b"objects/") + 200  # inside the first object's bytes
    data[ciphertext_start] ^= 1
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(data))
    assert_rejected_without_trace(tmp_path, corrupt, built.recipient, BadBundle)


def test_writer_refuses_unsafe_or_clashing_extra_files(tmp_path: Path) -> None:
    for name in ("../audit.json", "manifest.json", "/audit.json"):
        with pytest.raises(ValueError):
            build_bundle(tmp_path / "tip.zip", [], extra_files={name: b"x"})
    assert not (tmp_path / "tip.zip").exists()
    assert leftovers(tmp_path) == []


def test_writer_leaves_no_file_when_an_object_fails(tmp_path: Path) -> None:
    scope, metadata, _ = evidence_file("x.bin", b"abc")
    with pytest.raises(Exception, match="longer"):
        build_bundle(tmp_path / "tip.zip", [(scope, metadata, b"abcd")])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("untrusted", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        (".bashrc", "bashrc"),
        ("...", "file"),
        ("", "file"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("CON.txt", "_CON.txt"),
        ("what?.png", "what_.png"),
        ("é" * 300 + ".jpeg", "é" * 97 + ".jpeg"),
    ],
)
def test_file_names_are_sanitised(untrusted: str, expected: str) -> None:
    assert sanitise_filename(untrusted) == expected


def test_colliding_names_get_a_suffix_case_insensitively() -> None:
    names = NameAllocator()
    assert [names.allocate(n) for n in ("a.txt", "A.TXT", "dir/a.txt", "a.txt")] == [
        "a.txt",
        "A (2).TXT",
        "a (3).txt",
        "a (4).txt",
    ]


def test_sealed_keys_in_manifest_are_standard_base64(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip", [])
    with zipfile.ZipFile(built.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    for entry in manifest["sealed_keys"]:
        assert len(base64.b64decode(entry["sealed"], validate=True)) == 96


def test_files_with_detached_bodies_decrypt_to_identical_bytes(tmp_path: Path) -> None:
    video = os.urandom(3 * 1024 * 1024 + 5)
    objects = [
        ("thread", report_metadata("en", {"species": "pangolin"}), b""),
        detached_evidence_file("video.mp4", video),
        detached_evidence_file("empty.txt", b""),
        evidence_file("inline.txt", b"carried inside its file object"),
    ]
    built = build_bundle(tmp_path / "tip.zip", objects)
    out = tmp_path / "out"
    summary = decrypt_bundle(built.path, built.recipient, out)
    assert summary.files == 3 and summary.messages == 0
    files = json.loads((out / "files.json").read_text(encoding="utf-8"))
    assert [f["name"] for f in files] == ["video.mp4", "empty.txt", "inline.txt"]
    for entry in files:
        assert (out / entry["saved_as"]).read_bytes() == built.files[entry["name"]]
        assert "body" not in entry  # the saved file is the body; the object id is internal


def without_member(object_id: bytes):
    path = f"objects/{id_to_str(object_id)}.bin"

    def change(manifest: dict) -> dict:
        manifest["objects"] = [o for o in manifest["objects"] if o["path"] != path]
        return manifest

    def members(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [(n, d) for n, d in entries if n != path]

    return change, members


def test_a_file_whose_detached_body_is_missing_is_rejected(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip", [detached_evidence_file("a.bin", b"abc")])
    manifest, members = without_member(built.object_ids["body of a.bin"])
    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", manifest=manifest, members=members)
    assert_rejected_without_trace(tmp_path, bad, built.recipient, BadBundle)


def test_a_detached_body_no_file_refers_to_is_rejected(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip", [detached_evidence_file("a.bin", b"abc")])
    manifest, members = without_member(built.object_ids["a.bin"])
    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", manifest=manifest, members=members)
    assert_rejected_without_trace(tmp_path, bad, built.recipient, BadBundle)


def test_a_detached_body_claimed_by_two_files_is_rejected(tmp_path: Path) -> None:
    built = build_bundle(tmp_path / "tip.zip", [detached_evidence_file("a.bin", b"abc")])
    data_key = built.data_keys["thread"]
    body_uuid = id_to_str(built.object_ids["body of a.bin"])
    twin_id = new_id()
    twin = file_metadata("twin.bin", "x/y", 3, hashlib.sha256(b"abc").hexdigest(), body=body_uuid)
    twin_ciphertext = b"".join(encrypt_object(data_key, twin_id, twin))

    def add_twin(manifest: dict) -> dict:
        path = f"objects/{id_to_str(twin_id)}.bin"
        manifest["objects"].append(
            {"object_id": id_to_str(twin_id), "scope": "thread", "path": path}
        )
        return manifest

    def add_member(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [*entries, (f"objects/{id_to_str(twin_id)}.bin", twin_ciphertext)]

    bad = rewrite_bundle(built.path, tmp_path / "bad.zip", manifest=add_twin, members=add_member)
    assert_rejected_without_trace(tmp_path, bad, built.recipient, BadBundle)

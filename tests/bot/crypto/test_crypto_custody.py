"""Tests for bot.crypto.custody: sealing private keys at rest, master keys and key files."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
from pathlib import Path

import pytest

from bot import crypto
from bot.crypto import Custody, Sealed
from bot.errors import CustodyError

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
SECRET = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END"


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    sealed = Custody(KEY_A).seal(SECRET, context=b"order:42")
    assert SECRET not in sealed.ciphertext
    assert b"PRIVATE KEY" not in sealed.ciphertext
    assert SECRET[30:50] not in sealed.ciphertext
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(SECRET) + 16  # GCM tag


def test_round_trip_and_fresh_nonces() -> None:
    custody = Custody(KEY_A)
    one, two = (custody.seal(SECRET, context=b"order:42") for _ in range(2))
    assert one.nonce != two.nonce and one.ciphertext != two.ciphertext
    assert custody.open(one, context=b"order:42") == SECRET
    assert one.key_id == custody.current_key_id == crypto.key_id(KEY_A)


def test_wrong_master_key_is_refused() -> None:
    sealed = Custody(KEY_A).seal(SECRET, context=b"order:42")
    # Same id, other key: what happens if someone edits the stored key id to match.
    impostor = dataclasses.replace(sealed, key_id=crypto.key_id(KEY_B))
    with pytest.raises(CustodyError, match="master key is wrong or the data was altered"):
        Custody(KEY_B).open(impostor, context=b"order:42")


def test_unknown_key_id_names_the_missing_key() -> None:
    sealed = Custody(KEY_A).seal(SECRET, context=b"order:42")
    with pytest.raises(CustodyError) as caught:
        Custody(KEY_B).open(sealed, context=b"order:42")
    assert f"master key {crypto.key_id(KEY_A)}, which is not configured" in str(caught.value)


@pytest.mark.parametrize("field", ["nonce", "ciphertext"])
def test_altered_data_is_refused(field: str) -> None:
    custody = Custody(KEY_A)
    sealed = custody.seal(SECRET, context=b"order:42")
    value = bytearray(getattr(sealed, field))
    value[len(value) // 2] ^= 0x01
    if field == "nonce":
        altered = dataclasses.replace(sealed, nonce=bytes(value))
    else:
        altered = dataclasses.replace(sealed, ciphertext=bytes(value))
    with pytest.raises(CustodyError, match="altered"):
        custody.open(altered, context=b"order:42")


def test_truncated_ciphertext_is_refused() -> None:
    custody = Custody(KEY_A)
    sealed = custody.seal(SECRET, context=b"order:42")
    with pytest.raises(CustodyError):
        custody.open(dataclasses.replace(sealed, ciphertext=sealed.ciphertext[:10]), context=b"")


def test_a_sealed_key_cannot_move_to_another_order() -> None:
    custody = Custody(KEY_A)
    sealed = custody.seal(SECRET, context=b"order:42")
    with pytest.raises(CustodyError, match="altered"):
        custody.open(sealed, context=b"order:43")


def test_reseal_moves_data_to_the_new_key_only() -> None:
    old = Custody(KEY_A).seal(SECRET, context=b"order:7")
    rotating = Custody(KEY_B, previous=[KEY_A])
    assert rotating.open(old, context=b"order:7") == SECRET  # previous keys still open
    new = rotating.reseal(old, context=b"order:7")
    assert new.key_id == crypto.key_id(KEY_B) != old.key_id
    assert Custody(KEY_B).open(new, context=b"order:7") == SECRET
    with pytest.raises(CustodyError, match="not configured"):
        Custody(KEY_A).open(new, context=b"order:7")
    again = rotating.reseal(new, context=b"order:7")
    assert again == new  # already current: left as is


def test_reseal_refuses_altered_data_even_when_current() -> None:
    custody = Custody(KEY_A)
    sealed = custody.seal(SECRET, context=b"order:7")
    with pytest.raises(CustodyError):
        custody.reseal(sealed, context=b"order:8")


def test_key_id_is_short_stable_and_reveals_nothing() -> None:
    assert crypto.key_id(KEY_A) == crypto.key_id(bytes(KEY_A))
    assert crypto.key_id(KEY_A) != crypto.key_id(KEY_B)
    assert len(crypto.key_id(KEY_A)) == 16
    assert KEY_A.hex()[:8] not in crypto.key_id(KEY_A)


def test_custody_refuses_keys_of_the_wrong_length() -> None:
    with pytest.raises(CustodyError, match="32 bytes, not 16"):
        Custody(KEY_A[:16])
    with pytest.raises(CustodyError):
        Custody(KEY_A, previous=[b"short"])


def test_sealed_text_round_trip() -> None:
    custody = Custody(KEY_A)
    sealed = custody.seal(SECRET, context=b"order:1")
    text = sealed.to_text()
    assert text.isascii() and text.startswith(f"v1.{custody.current_key_id}.")
    assert custody.open(Sealed.from_text(text), context=b"order:1") == SECRET
    for broken in ("", "v2.a.b.c", "v1.only.three", "v1.id.***.***"):
        with pytest.raises(CustodyError):
            Sealed.from_text(broken)


# --- master key from the environment ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(KEY_B).decode(),
        base64.urlsafe_b64encode(KEY_B).decode(),
        base64.urlsafe_b64encode(KEY_B).decode().rstrip("="),
        KEY_B.hex(),
        KEY_B.hex().upper(),
        "  " + base64.b64encode(KEY_B).decode() + "\n",
    ],
)
def test_parse_master_key_accepts_base64_and_hex(text: str) -> None:
    assert crypto.parse_master_key(text) == KEY_B


def test_parse_master_key_prefers_hex_for_64_hex_digits() -> None:
    # These 64 characters are valid base64 too (of 48 bytes); hex is what people mean.
    assert crypto.parse_master_key("ab" * 32) == b"\xab" * 32


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "is empty"),
        ("not a key!", "neither base64 nor hex"),
        (base64.b64encode(b"x" * 16).decode(), "16 bytes, not 32"),
        ("ab" * 31, "not 32"),
    ],
)
def test_parse_master_key_names_the_variable(text: str, words: str) -> None:
    with pytest.raises(CustodyError) as caught:
        crypto.parse_master_key(text)
    message = str(caught.value)
    assert "CERTDESK_MASTER_KEY" in message and words in message
    if text:
        assert text not in message


# --- master key file ------------------------------------------------------------------------


def test_key_file_is_created_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    first = crypto.load_or_create_key_file(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_or_create_key_file(path) == first
    assert crypto.parse_master_key(path.read_text()) == first  # usable as the env variable
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


def test_key_file_creation_ignores_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        crypto.load_or_create_key_file(tmp_path / "k")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    crypto.load_or_create_key_file(path)
    path.chmod(0o644)
    with pytest.raises(CustodyError) as caught:
        crypto.load_or_create_key_file(path)
    assert "mode 0644" in str(caught.value) and "chmod 600" in str(caught.value)
    path.chmod(0o640)
    with pytest.raises(CustodyError, match="0640"):
        crypto.load_or_create_key_file(path)


def test_key_file_raw_32_bytes_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "raw.key"
    path.write_bytes(KEY_A)
    path.chmod(0o600)
    assert crypto.load_or_create_key_file(path) == KEY_A


@pytest.mark.parametrize("content", [b"", b"x" * 31, b"too short\n", b"\xff" * 45])
def test_key_file_of_the_wrong_length_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(CustodyError, match="does not hold a 32-byte key"):
        crypto.load_or_create_key_file(path)


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.key").mkdir(mode=0o700)
    with pytest.raises(CustodyError, match="not a regular file"):
        crypto.load_or_create_key_file(tmp_path / "dir.key")

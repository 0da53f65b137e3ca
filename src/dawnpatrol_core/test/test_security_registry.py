"""Operator registry, roles and key files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.keys import (
    generate_private_key,
    key_id,
    load_private_key,
    load_public_key,
    parse_public_key,
    public_bytes,
    public_key_text,
    write_private_key,
)
from dawnpatrol_core.security.registry import Operator, OperatorRegistry, RegistryStore
from dawnpatrol_core.security.roles import Command, Role, allowed, parse_command, parse_role


def test_roles_are_ordered_and_parsed() -> None:
    assert Role.VIEWER < Role.DISPATCHER < Role.SUPERVISOR < Role.ADMIN
    assert parse_role("supervisor") is Role.SUPERVISOR
    for bad in ("Supervisor", "root", 3, None):
        with pytest.raises(SecurityError):
            parse_role(bad)
    assert allowed(Role.SUPERVISOR, Command.RESUME) and not allowed(Role.DISPATCHER,
                                                                     Command.RESUME)
    assert allowed(Role.VIEWER, Command.ESTOP)
    with pytest.raises(SecurityError, match="known command"):
        parse_command("format_disk")


def test_public_key_text_round_trip_and_bad_texts() -> None:
    k = generate_private_key()
    text = public_key_text(k)
    assert text.startswith("ed25519:") and parse_public_key(text) == public_bytes(k)
    assert len(key_id(public_bytes(k))) == 16
    for bad in ("", "ed25519:", "rsa:AAAA", "ed25519:!!!!", "ed25519:" + "A" * 40, 7,
                "ed25519:" + "A" * 200):
        with pytest.raises(SecurityError):
            parse_public_key(bad)


def test_private_key_file_is_0600_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    k = generate_private_key()
    p = write_private_key(tmp_path / "keys" / "kim.key", k)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert public_bytes(load_private_key(p)) == public_bytes(k)
    assert load_public_key(p.with_suffix(".pub")) == public_bytes(k)
    with pytest.raises(SecurityError, match="exists already"):
        write_private_key(p, generate_private_key())
    os.chmod(p, 0o644)
    with pytest.raises(SecurityError, match="expected 0600"):
        load_private_key(p)


def test_passphrase_protected_key(tmp_path: Path) -> None:
    k = generate_private_key()
    p = write_private_key(tmp_path / "kim.key", k, passphrase=b"correct horse")
    assert public_bytes(load_private_key(p, b"correct horse")) == public_bytes(k)
    with pytest.raises(SecurityError, match="encrypted"):
        load_private_key(p)
    with pytest.raises(SecurityError, match="wrong passphrase"):
        load_private_key(p, b"wrong")


def test_registry_add_revoke_and_readd_rules() -> None:
    k1, k2 = (public_bytes(generate_private_key()) for _ in range(2))
    reg = OperatorRegistry().with_added(Operator("kim", Role.SUPERVISOR, k1, 10.0))
    with pytest.raises(SecurityError, match="already registered"):
        reg.with_added(Operator("kim", Role.ADMIN, k2, 11.0))
    with pytest.raises(SecurityError, match="already registered to kim"):
        reg.with_added(Operator("lee", Role.VIEWER, k1, 11.0))
    reg = reg.with_revoked("kim", 12.0, "park")
    assert not reg.get("kim").active
    with pytest.raises(SecurityError, match="already revoked"):
        reg.with_revoked("kim", 13.0)
    reg = reg.with_added(Operator("kim", Role.ADMIN, k2, 14.0))
    assert reg.get("kim").active and reg.get("kim").public_key == k2
    for bad in ("", "-x", "a b", "x" * 65, "kim\n"):
        with pytest.raises(SecurityError):
            reg.with_added(Operator(bad, Role.VIEWER, k1, 1.0))


def test_registry_store_persists_and_a_refused_change_leaves_it_as_it_was(tmp_path: Path) -> None:
    k1, k2 = (public_bytes(generate_private_key()) for _ in range(2))
    db = tmp_path / "security.db"
    with RegistryStore(db) as s:
        s.add("kim", Role.SUPERVISOR, k1, 10.0, "park")
        s.add("lee", Role.VIEWER, k2, 11.0, "park")
        before = s.load()
        with pytest.raises(SecurityError):
            s.add("kim", Role.ADMIN, k2, 12.0)
        with pytest.raises(SecurityError):
            s.revoke("nobody", 12.0)
        assert s.load() == before
        s.revoke("lee", 13.0, "park")
    with RegistryStore(db) as s:
        reg = s.load()
    assert [o.name for o in reg] == ["kim", "lee"]
    assert reg.get("kim").role is Role.SUPERVISOR and reg.get("kim").added_by == "park"
    assert reg.get("lee").revoked_at == 13.0 and reg.get("lee").revoked_by == "park"


def test_key_file_names_that_are_not_file_names(tmp_path: Path) -> None:
    # Regressions (fuzzing): a NUL byte raised ValueError; a line break split the message.
    for name in ("a\x00b.key", "a\nb.pub"):
        for load in (load_private_key, load_public_key):
            with pytest.raises(SecurityError) as exc:
                load(tmp_path / name)
            assert "\n" not in str(exc.value)

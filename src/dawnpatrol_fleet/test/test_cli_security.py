"""`dawnpatrol keys|audit|data` in process (no ROS), and the CLI's envelope helper verified by
the fleet's gate."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from dawnpatrol_core.errors import SecurityError
from dawnpatrol_core.security.envelope import VerdictStatus, envelope_from_text
from dawnpatrol_core.security.gate import fleet_gate, robot_gate
from dawnpatrol_core.security.keys import generate_private_key, write_private_key
from dawnpatrol_core.security.roles import Command, Role
from dawnpatrol_core.store.audit_chain import AuditChain
from dawnpatrol_core.store.inbox import Inbox
from dawnpatrol_core.store.retention import PURGE_COMMAND, purge_summaries
from dawnpatrol_fleet.cli import main
from dawnpatrol_fleet.operator_keys import sign_for_fleet


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAWNPATROL_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("DAWNPATROL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAWNPATROL_OPERATOR", "park")
    monkeypatch.delenv("DAWNPATROL_KEY_PASSPHRASE", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_keys_new_add_list_revoke(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "keys", "new", "kim", "--json")
    assert code == 0
    info = json.loads(out)
    key = Path(info["key_file"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and info["public_key"].startswith("ed25519:")
    code, _, err = run(capsys, "keys", "new", "kim")
    assert code == 2 and "exists already" in one_line(err)

    assert run(capsys, "keys", "add", "kim", info["public_key"], "--role", "supervisor")[0] == 0
    code, _, err = run(capsys, "keys", "add", "kim", info["public_file"], "--role", "admin")
    assert code == 2 and "already registered" in one_line(err)
    code, _, err = run(capsys, "keys", "add", "lee", "ed25519:AAAA", "--role", "viewer")
    assert code == 2 and "public key" in one_line(err)
    code, _, err = run(capsys, "keys", "add", "bad name", info["public_key"], "--role", "viewer")
    assert code == 2 and "name" in one_line(err)
    with pytest.raises(SystemExit) as exc:  # argparse: not a role
        main(["keys", "add", "lee", info["public_key"], "--role", "root"])
    assert exc.value.code == 2
    capsys.readouterr()

    code, out, _ = run(capsys, "keys", "list", "--json")
    (kim,) = json.loads(out)
    assert (kim["name"], kim["role"], kim["added_by"], kim["revoked_at"]) == (
        "kim", "supervisor", "park", None)
    assert run(capsys, "keys", "revoke", "kim")[0] == 0
    code, _, err = run(capsys, "keys", "revoke", "kim")
    assert code == 2 and "already revoked" in one_line(err)
    assert json.loads(run(capsys, "keys", "list", "--json")[1])[0]["revoked_by"] == "park"
    # every registry change, refused ones too, is in the chained audit log
    with AuditChain(env / "data" / "audit.db") as chain:
        log = [(e.command, e.ok) for e in chain.entries()]
        assert chain.verify().ok
    assert log == [("registry_add", True), ("registry_add", False),  # bad input never got in
                   ("registry_revoke", True), ("registry_revoke", False)]


def test_audit_verify_names_edited_deleted_and_swapped(env: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = env / "data" / "audit.db"
    code, _, err = run(capsys, "audit", "verify")
    assert code == 2 and "no audit log" in one_line(err)
    db.parent.mkdir(parents=True)
    with AuditChain(db) as chain:
        for k in range(1, 7):
            chain.append("kim", "resume", {"robot_id": f"r{k}"}, True, "ok", at=float(k))
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "intact; 6 entries, head 6:" in out
    head = out.split("head ")[1].split()[0].rstrip(";")
    c = sqlite3.connect(str(db), isolation_level=None)
    c.execute("UPDATE audit_chain SET operator = 'mallory' WHERE seq = 2")
    c.execute("DELETE FROM audit_chain WHERE seq = 4")
    c.execute("UPDATE audit_chain SET seq = 6 WHERE id = 5")  # entries 5 and 6 swap places
    c.execute("UPDATE audit_chain SET seq = 5 WHERE id = 6")
    code, out, err = run(capsys, "audit", "verify", "--json", "--expect-head", head)
    assert code == 1 and "entry 2" in one_line(err)
    found = {(p["seq"], p["kind"]) for p in json.loads(out)["problems"]}
    assert {(2, "changed"), (4, "missing"), (5, "reordered")} <= found


def test_data_purge_removes_old_data_and_records_it(env: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = env / "data"
    data.mkdir(parents=True)
    with Inbox(data / "anomalies.db") as ib:
        assert len(ib) == 0
    rec = env / "reports" / "2020-01-01" / "run.mcap"
    rec.parent.mkdir(parents=True)
    rec.write_bytes(b"mcap")
    os.utime(rec, (1_500_000_000, 1_500_000_000))
    code, _, err = run(capsys, "data", "purge", "--params", str(env / "none.yaml"))
    assert code == 2 and "cannot read parameters" in one_line(err)
    params = env / "fleet.yaml"
    params.write_text("/**:\n  ros__parameters:\n    retention_days: 30\n", encoding="utf-8")
    code, out, _ = run(capsys, "data", "purge", "--params", str(params), "--path",
                       str(env / "reports"), "--dry-run", "--json")
    assert code == 0 and json.loads(out)["totals"]["recordings"] == 1 and rec.exists()
    code, out, _ = run(capsys, "data", "purge", "--params", str(params), "--path",
                       str(env / "reports"))
    assert code == 0 and "removed: 0 events, 0 track samples, 1 recordings" in out
    assert not rec.exists()
    with AuditChain(data / "audit.db") as chain:
        (s,) = purge_summaries(chain.entries(PURGE_COMMAND))
    assert (s.operator, s.older_than_days, s.recordings) == ("park", 30.0, 1)


def test_sign_for_fleet_is_verified_by_the_fleet_gate(env: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for name, role in (("choi", "dispatcher"), ("kim", "supervisor")):
        out = run(capsys, "keys", "new", name, "--json")[1]
        assert run(capsys, "keys", "add", name, json.loads(out)["public_key"], "--role",
                   role)[0] == 0
    gate = fleet_gate(env / "data")
    fields = {"robot_id": "r1", "reason": "all clear", "engage": False,
              "operator_name": "kim"}
    env_text = sign_for_fleet(Command.RESUME, "r1", fields, "kim", now=1000.0)
    assert envelope_from_text(env_text).role is Role.SUPERVISOR  # least role resume needs
    v = gate.check(Command.RESUME, "r1", fields, env_text, now=1001.0)
    assert v.ok and v.identity == "kim (supervisor)"
    assert gate.check(Command.RESUME, "r1", fields, env_text, now=1002.0).status is \
        VerdictStatus.REPLAYED
    # a dispatcher's resume: refused, claimed role above the registered one
    text = sign_for_fleet(Command.RESUME, "r1", fields, "choi", now=1000.0)
    v = gate.check(Command.RESUME, "r1", fields, text, now=1001.0)
    assert v.status is VerdictStatus.INSUFFICIENT_ROLE
    # revocation counts at once, without reopening the gate
    assert run(capsys, "keys", "revoke", "kim")[0] == 0
    text = sign_for_fleet(Command.RESUME, "r1", fields, "kim", now=1000.0)
    assert gate.check(Command.RESUME, "r1", fields, text, now=1001.0).status is \
        VerdictStatus.UNKNOWN_OPERATOR
    gate.close()
    with pytest.raises(SecurityError, match="cannot read key file"):
        sign_for_fleet(Command.RESUME, "r1", fields, "nobody")


def test_robot_gate_trusts_the_fleet_key_only(env: Path) -> None:
    from dawnpatrol_core.security.gate import FleetSigner

    key_file = write_private_key(env / "data" / "fleet.key", generate_private_key())
    fleet = FleetSigner(key_file)
    gate = robot_gate(key_file.with_suffix(".pub"), env / "r1")
    fields = {"robot_id": "r1", "goal_sha256": "ab" * 32}
    text = fleet.sign(Command.MISSION, "r1", fields, now=5000.0)
    assert gate.check(Command.MISSION, "r1", fields, text, 5000.5).ok
    gate.close()
    gate = robot_gate(key_file.with_suffix(".pub"), env / "r1")  # robot restarted
    assert gate.check(Command.MISSION, "r1", fields, text, 5001.0).status is \
        VerdictStatus.REPLAYED
    operator_key = write_private_key(env / "keys" / "kim.key", generate_private_key())
    assert operator_key.exists()
    text = sign_for_fleet(Command.MISSION, "r1", fields, "kim", now=5000.0)
    assert gate.check(Command.MISSION, "r1", fields, text, 5001.0).status is \
        VerdictStatus.UNKNOWN_OPERATOR  # an operator cannot command a robot directly
    edges = {"edges": [1121, 1122]}  # a latched topic: re-delivered, verified, nonce not spent
    text = fleet.sign(Command.CLOSE_EDGES, "*", edges, now=5000.0)
    for _ in range(2):
        assert gate.check(Command.CLOSE_EDGES, "*", edges, text, 5001.0, consume=False).ok
    est = gate.identify_estop("r1", {"robot_id": "r1", "engage": True, "reason": "x"}, None,
                              5001.0)
    assert est.status is VerdictStatus.UNSIGNED
    gate.close()

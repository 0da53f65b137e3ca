"""End to end in the ROS graph: a small dawn shift on the test yard, judged by its expectations.

The real launch file starts the simulator, the fleet manager, two robots (localization,
navigator, mission, anomaly monitor each) and the scenario runner, which dispatches four orders
through the fleet, keys in the recipients' PINs (one recipient is absent), starts the patrol,
acknowledges alerts and asks for the reports when the shift is over. The scenario also scripts a
loiterer in the yard's watch zone, a 30 s link loss on r2 and a kidnap of r1; the test SIGKILLs
a delivering robot's mission node (the launcher respawns it, and it resumes from its persisted
state). Every command the scenario's operator sends is signed with a key the set-up made; the
report names that operator, and the fleet's audit log verifies, signed throughout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from dawnpatrol_pytest import REPO

from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox

SCENARIO = REPO / "sim" / "scenarios" / "e2e_yard.yaml"


def test_small_shift_end_to_end(launch, tmp_path: Path) -> None:
    graph = launch(REPO / "launch" / "sim.launch.xml", world="test_yard", scenario=str(SCENARIO),
                   robot_count="2", real_time_factor="4.0", report_dir=str(tmp_path))
    # A delivering robot's mission node dies: respawned, it resumes the persisted mission.
    graph.wait_output(r"\[r\d/mission\].*deliver Y-0\d: started", 300.0)
    rid = re.findall(r"\[(r\d)/mission\].*deliver Y-0\d: started", graph.output)[0]
    os.kill(graph.child_pids()[f"{rid}/mission"][-1], signal.SIGKILL)
    graph.wait_output(f"respawning {rid}/mission", 30.0)
    graph.wait_output(rf"\[{rid}/mission\].*resuming mission '[^']+' at task", 60.0)
    code = graph.proc.wait(timeout=900)
    out = graph.output
    assert len(graph.child_pids()[f"{rid}/mission"]) == 2, graph.child_pids()
    assert code == 0, out[-4000:]
    # The launcher ended because the scenario runner (a required node) finished its shift.
    assert "required node scenario_runner ended" in out
    # The runner judged the scenario's expectations (every parcel of a recipient at home in its
    # window, the loiterer reported): all met, and the table is in the shift report.
    verdict = re.findall(r"expectations: (\d+)/(\d+) met", out)
    assert verdict and verdict[-1][0] == verdict[-1][1] != "0", out[-4000:]
    assert "| MISS |" not in out, out[-4000:]

    for name in ("shift_report.md", "shift_map.png", "compliance_report.md"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "shift_map.png").stat().st_size > 10_000

    store = FleetStore(tmp_path / "data" / "fleet" / "fleet.db")
    try:
        delivered = {d["order_id"] for d in store.deliveries()}
        orders = {o.id: o for o in store.orders()}
    finally:
        store.close()
    # Three recipients are home: their parcels are handed over; Y-03's recipient is absent.
    assert len(delivered & {"Y-01", "Y-02", "Y-04"}) >= 2, (delivered, out[-3000:])
    assert "Y-03" not in delivered
    assert orders["Y-03"].state in ("failed", "returned"), orders["Y-03"]
    assert "absent" in orders["Y-03"].reason or "absent" in out

    inbox = Inbox(tmp_path / "data" / "fleet" / "anomalies.db")
    try:
        records = inbox.query()
    finally:
        inbox.close()
    kinds = {(r.event.kind, r.event.robot_id) for r in records}
    # The scripted loiterer in the watch zone reached the fleet store, as did r2's link loss
    # (reported from the robot's outbox once the link was back).
    assert any(k == "loitering" for k, _ in kinds), kinds
    assert ("link_lost", "r2") in kinds, kinds
    # r1 kidnapped: its localization said LOST (an alert to the fleet), then found itself again.
    assert ("localization_lost", "r1") in kinds, kinds
    lost = re.search(r"\[r1/localization\].*health \w+ -> LOST", out)
    assert lost, out[-3000:]
    assert re.search(r"\[r1/localization\].*health LOST -> (OK|DEGRADED)", out[lost.end():]), (
        out[-3000:])
    # Every alert was acknowledged by the (scripted) operator or is recent.
    assert sum(r.acked_at is not None for r in records) >= len(records) // 2

    report = (tmp_path / "shift_report.md").read_text()
    assert "## Scenario expectations" in report and "| alert loitering | raised |" in report
    assert "Y-01" in report or "delivered" in report.lower()
    compliance = (tmp_path / "compliance_report.md").read_text().lower()
    assert "privacy" in compliance and "keep-out" in compliance

    # Signed commands: the operator the set-up enrolled acted, and nothing was refused.
    assert "Operators who acted (signed commands, verified): scenario-operator (supervisor)." in (
        report)
    assert (tmp_path / "keys" / "scenario-operator.key").stat().st_mode & 0o077 == 0
    assert "refused" not in out, re.findall(r".*refused.*", out)[:5]
    p = subprocess.run([sys.executable, "-m", "dawnpatrol_fleet.cli", "audit", "verify",
                        "--data-dir", str(tmp_path / "data" / "fleet"), "--signed"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "intact" in p.stdout, p.stdout + p.stderr

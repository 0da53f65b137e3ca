"""Shift and compliance reports from a small hand-made store on the test yard."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from dawnpatrol_core.anomaly.events import AnomalyEvent, Severity
from dawnpatrol_core.compliance import PrivacyStatement, RecordingIndicator
from dawnpatrol_core.delivery.orders import Order
from dawnpatrol_core.fleet.records import OrderState
from dawnpatrol_core.maps.district import load_district_map
from dawnpatrol_core.store.fleet import FleetStore
from dawnpatrol_core.store.inbox import Inbox
from dawnpatrol_core.store.retention import PurgeSummary
from dawnpatrol_fleet.report import draw_plan, retention_markdown, write_reports

YARD = Path(__file__).resolve().parents[3] / "maps" / "test_yard"
UUID = "4d7c1a52-8c1e-4a7e-9a0e-3d2f5e6a7b14"


def _order(oid: str, x: float, y: float) -> Order:
    return Order(oid, "101-1", None, None, x, y, 7800.0, 9000.0)


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, str]:
    store = FleetStore(tmp_path / "fleet.db")
    inbox = Inbox(tmp_path / "anomalies.db")
    plan = {"routes": [{"robot_id": "r1", "stops": [
        {"order_id": "O-1", "x": 24.0, "y": 19.0, "eta": 7900.0}]}], "unserved": [],
        "map_dir": str(YARD)}
    store.add_batch("night.csv", "kim", plan, [
        (_order("O-1", 24.0, 19.0), OrderState.ASSIGNED, "r1", "", 7900.0),
        (_order("O-2", 24.0, 19.0), OrderState.ASSIGNED, "r1", "", 8000.0),
    ], 7200.0)
    store.record_delivery("O-1", "r1", 7950.0, 24.0, 19.0, "pin")
    store.set_order_state("O-2", OrderState.RETURNED, 8600.0, reason="absent recipient")
    store.record_visit("r1", "hs_yard_corner", 8100.0, 8130.0)
    store.record_incident("r1", "estop", "drill by kim; confirmed", 8200.0)
    store.record_incident("r1", "link_lost", "no status for 10 s", 8300.0)
    store.audit("kim", "estop", {"robot_id": "*"}, True, "e-stop: r1: confirmed", 8200.0)
    # r1 drives 1.2 m/s in the yard, then 1.0 m/s on the 0.8 m/s entrance apron, then
    # crosses the flower-bed keep-out (x 14..18, y 12..16)
    store.add_samples([
        (7200.0, "r1", 5.0, 5.0, 1.2, "ground_truth"),
        (7201.0, "r1", 24.0, 18.0, 1.0, "ground_truth"),
        (7202.0, "r1", 16.0, 14.0, 0.5, "ground_truth"),
        (7203.0, "r1", 10.0, 14.0, 0.5, "ground_truth"),
        (7200.0, "r1", 5.0, 5.0, 9.9, "status"),  # ignored: ground truth is preferred
    ])
    ev = AnomalyEvent(UUID, "r1", "loitering", Severity.WARNING, 0.9, 8.0, 25.0,
                      "watch_yard_corner", 8000.0, 8060.0, 5, "person lingering")
    inbox.upsert(ev, 8060.0)
    inbox.ack(UUID, "kim", "checked on camera", 8180.0)
    files = write_reports(store, inbox, load_district_map(YARD), tmp_path / "out", "2026-11-25")
    assert [f.name for f in files] == ["shift_report.md", "shift_map.png",
                                      "compliance_report.md"]
    assert Image.open(files[1]).size[0] == 1600
    return {f.name: f.read_text(encoding="utf-8") for f in files if f.suffix == ".md"}


def test_shift_report_content(reports: dict[str, str]) -> None:
    md = reports["shift_report.md"]
    assert md.startswith("# DawnPatrol shift report — 2026-11-25")
    assert "District **test_yard**, robots: r1." in md
    assert "| delivered | 1 |" in md and "| delivered inside their time window | 1 |" in md
    assert "| failed (parcel returned to the depot) | 1 |" in md
    assert "| O-1 | 101-1 | r1 | 02:10:00–02:30:00 | delivered | 02:12:30 | pin |" in md
    assert "returned: absent recipient" in md
    assert "| hs_yard_corner | 1 |" in md
    assert "| 02:13:20 | loitering | warning | r1 | watch_yard_corner | 5 | kim | 2.0 min |" in md
    assert "| 02:16:40 | kim | estop | ok: e-stop: r1: confirmed |" in md


def test_compliance_report_content(reports: dict[str, str]) -> None:
    md = reports["compliance_report.md"]
    assert "4 position and speed samples from the simulator's ground-truth positions" in md
    assert "2 finding(s) need review" in md  # over speed on the apron + the keep-out entry
    assert "| building entrance apron | 2.9 km/h | 3.6 km/h | 1 | 1 |" in md
    assert "| r1 | keep_out_flower_bed | 02:00:02 | 02:00:02 | 16.0, 14.0 |" in md
    assert "| 02:16:40 | r1 | stop | drill by kim; confirmed |" in md
    assert "| 02:18:20 | r1 | no status for 10 s |" in md
    assert "no faces" in md and "no PINs" in md
    assert "## Retention and recording" in md and "Not stated" in md  # none passed here


def test_retention_section_states_period_purges_and_indicators() -> None:
    st = PrivacyStatement(30.0, (PurgeSummary(8000.0, "park", 30.0, 12, 3400, 1),),
                          (RecordingIndicator("r1", False, False, 7200.0, 8500.0),
                           RecordingIndicator("r2", True, True, 8100.0, 8500.0),
                           RecordingIndicator("r3", None)))
    md = "\n".join(retention_markdown(st))
    assert "kept for **30 days**" in md
    assert "| 02:13:20 | park | 30 days | 12 | 3400 | 1 |" in md
    assert "| r1 | not recording (indicator off); recording disabled | 02:00:00 | 02:21:40 |" in md
    assert "| r2 | RECORDING (indicator on) | 02:15:00 | 02:21:40 |" in md
    assert "| r3 | unknown (the robot did not report its indicator) | - | - |" in md
    empty = "\n".join(retention_markdown(PrivacyStatement(7.0)))
    assert "No purge was recorded." in empty and "No robot reported" in empty


def test_draw_plan(tmp_path: Path) -> None:
    plan = {"routes": [{"robot_id": "r1", "stops": [{"order_id": "O-1", "x": 24.0, "y": 19.0}]}],
            "unserved": [{"order_id": "O-9", "reason": "too big"}], "map_dir": str(YARD)}
    out = draw_plan(plan, tmp_path / "p" / "plan.png")
    assert Image.open(out).size[0] == 1600

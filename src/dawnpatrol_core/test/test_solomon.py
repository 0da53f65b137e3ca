"""Solomon reader on a real benchmark file, and its translation to our model."""

from __future__ import annotations

from pathlib import Path

import pytest

from dawnpatrol_core.errors import PlanningError
from dawnpatrol_core.planning.solomon import read_solomon, to_routing_problem
from dawnpatrol_core.planning.vrptw import RoutePlan, RoutingSolution, validate_routes

REPO = Path(__file__).resolve().parents[3]


def _shared_c101() -> Path:
    """C101 in ../shared/benchmarks beside the repository (or beside its main worktree, when
    this checkout is a git worktree and ``.git`` is a file naming it)."""
    roots = [REPO]
    git = REPO / ".git"
    if git.is_file() and git.read_text(encoding="utf-8").startswith("gitdir:"):
        roots.append(Path(git.read_text(encoding="utf-8").split(":", 1)[1].strip()).parents[2])
    cands = [r / ".." / "shared" / "benchmarks" / "vrptw" / "solomon" / "C101.txt" for r in roots]
    return next((c for c in cands if c.exists()), cands[0])


C101 = _shared_c101()


@pytest.mark.skipif(not C101.exists(), reason="benchmark data not present")
def test_reads_c101() -> None:
    inst = read_solomon(C101)
    assert inst.name == "C101"
    assert (inst.num_vehicles, inst.capacity, inst.num_customers) == (25, 200, 100)
    assert tuple(inst.xy[0]) == (40.0, 50.0) and inst.due[0] == 1236.0
    assert (inst.xy[5, 0], inst.xy[5, 1], inst.demand[5], inst.ready[5], inst.due[5],
            inst.service[5]) == (42.0, 65.0, 10.0, 15.0, 67.0, 90.0)
    assert inst.distances()[0, 5] == pytest.approx((2.0**2 + 15.0**2) ** 0.5)
    problem = to_routing_problem(inst, 1000.0)
    # Customer 5 alone: 15.13 travel, service 90, back: feasible; stop indices are 0-based.
    ok = RoutingSolution((RoutePlan(0, 0.0, ((4,),)),), (), True)
    assert [p for p in validate_routes(problem, ok) if "required" not in p] == []


def test_bad_row_named(tmp_path: Path) -> None:
    f = tmp_path / "X.txt"
    f.write_text("X\nVEHICLE\nNUMBER CAPACITY\n 2 10\nCUSTOMER\n 0 0 0 0 0 100 0\n 1 1 1 1\n")
    with pytest.raises(PlanningError, match=r"X.txt:7"):
        read_solomon(f)

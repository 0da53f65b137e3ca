"""A robot mission as pure state: the task list and progress (persisted across restarts) and
the per-task run (navigate, hand over or dwell, done) that emits the mission events."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal, cast, get_args

from dawnpatrol_core.control.causes import HOLD_CAUSES, NavCause, NavResult
from dawnpatrol_core.delivery.handover import (
    FailReason,
    HandoverRules,
    Phase,
    StopHandover,
    announce,
    arrive,
    enter_pin,
    start_stop,
    tick,
)
from dawnpatrol_core.delivery.orders import parse_time_of_day
from dawnpatrol_core.delivery.proof import HandoverMethod
from dawnpatrol_core.errors import ConfigError, MissionError, finite_number, shown
from dawnpatrol_core.shift_clock import shift_seconds

TaskKind = Literal["deliver", "patrol", "investigate", "return", "charge"]
TASK_KINDS: tuple[str, ...] = get_args(TaskKind)
_MODES: dict[str, str] = {
    "deliver": "delivering", "patrol": "patrolling", "investigate": "investigating",
    "return": "returning", "charge": "charging",
}


def expected_pin(order_id: str, secret: str) -> str:
    """The recipient's 4-digit PIN for ``order_id``: the last 4 decimal digits of the integer
    SHA-256 of ``order_id + secret`` (shared out of band with the recipient's notification)."""
    digest = hashlib.sha256((order_id + secret).encode()).hexdigest()
    return f"{int(digest, 16) % 10_000:04d}"


def robot_mode(kind: str | None, estopped: bool = False, localization: str = "OK") -> str:
    """Robot mode: 'estopped' beats 'fault' (localization LOST) beats the task's mode
    ('delivering', 'patrolling', …) or 'idle' when no task runs."""
    if estopped:
        return "estopped"
    if localization == "LOST":
        return "fault"
    return "idle" if kind is None else _MODES[kind]


@dataclass(frozen=True, slots=True)
class MissionConfig:
    """Validated mission node parameters (see params/mission.yaml)."""

    robot_id: str
    navigator: str
    pin_secret: str
    rules: HandoverRules
    state_dir: str
    status_rate_hz: float
    feedback_period_s: float = 1.0
    utc_offset_s: float = 32400.0   # local time = UTC + this (order windows are local)
    shift_end_s: float = 7 * 3600.0  # s since local midnight


def _time_of_day(v: object) -> bool:
    try:
        parse_time_of_day(v)
    except ValueError:
        return False
    return True


def _in(lo: float, hi: float, lo_open: bool = False) -> Callable[[object], bool]:
    def check(v: object) -> bool:
        f = finite_number(v)
        return f is not None and (lo < f if lo_open else lo <= f) and f <= hi
    return check


_CHECKS: tuple[tuple[str, Callable[[object], bool], str], ...] = (
    ("robot_id", lambda v: isinstance(v, str), "a string"),
    ("navigator", lambda v: v in ("dawnpatrol", "nav2"), "dawnpatrol or nav2"),
    ("pin_secret", lambda v: isinstance(v, str), "a string"),
    ("absent_after_s", _in(0.0, 86400.0, lo_open=True), "a number of seconds in (0, 86400]"),
    ("pin_timeout_s", _in(0.0, 86400.0, lo_open=True), "a number of seconds in (0, 86400]"),
    ("max_pin_attempts", lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    ("state_dir", lambda v: isinstance(v, str), "a directory path"),
    ("status_rate_hz", _in(0.1, 20.0), "0.1 to 20 Hz"),
    ("feedback_period_s", _in(0.0, 60.0), "0 to 60 s"),
    ("utc_offset_s", _in(-14 * 3600.0, 14 * 3600.0), "-50400 to 50400 s"),
    ("shift_end", _time_of_day, '"HH:MM"'),
)


def mission_config(values: Mapping[str, object], namespace: str) -> MissionConfig:
    """Check the node's parameter ``values``; :class:`ConfigError` names the first bad one.
    An empty robot_id comes from ``namespace``; an empty state_dir is
    ``~/.local/state/dawnpatrol/<robot_id>``."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"parameters: got {shown(values)}, expected a mapping")
    for name, check, expected in _CHECKS:
        if name not in values:
            raise ConfigError(f"parameter '{name}': missing, expected {expected}")
        try:
            ok = check(values[name]) and not isinstance(values[name], bool)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"parameter '{name}': got {shown(values[name])}, expected {expected}")
    robot_id = str(values["robot_id"]) or namespace.strip("/") or "r0"
    rules = HandoverRules(float(cast(float, values["absent_after_s"])),
                          float(cast(float, values["pin_timeout_s"])),
                          int(cast(int, values["max_pin_attempts"])))
    return MissionConfig(robot_id, str(values["navigator"]), str(values["pin_secret"]), rules,
                         str(values["state_dir"]) or f"~/.local/state/dawnpatrol/{robot_id}",
                         float(cast(float, values["status_rate_hz"])),
                         float(cast(float, values["feedback_period_s"])),
                         float(cast(float, values["utc_offset_s"])),
                         parse_time_of_day(values["shift_end"]))


def window_opens_at(window_start: float, now: float, cfg: MissionConfig) -> float:
    """The mission-clock time (s) an order window starting ``window_start`` (s since the shift
    day's local midnight, as in DeliveryStop) opens, given the mission clock reads ``now``;
    0 for no window (``window_start`` <= 0)."""
    if window_start <= 0.0:
        return 0.0
    return now + window_start - shift_seconds(now, cfg.utc_offset_s, cfg.shift_end_s)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One mission task: target pose (map m, rad); ``dwell_s`` s for patrol/investigate;
    ``order_id``, handover ``method`` and ``not_before`` for deliver: the time (the mission's
    clock, s) the order's window opens; a robot there earlier waits at the door (0: no wait).
    A patrol task's ``not_before``: its watch counts from then (a robot there earlier keeps
    watching until it starts), so a visit planned between parcels ends no earlier than planned."""

    kind: TaskKind
    id: str
    x: float
    y: float
    theta: float = 0.0
    dwell_s: float = 0.0
    order_id: str = ""
    method: HandoverMethod = "pin"
    not_before: float = 0.0


def make_task(kind: str, task_id: str, x: float, y: float, theta: float = 0.0,
              dwell_s: float = 0.0, order_id: str = "", method: str = "pin",
              not_before: float = 0.0) -> TaskSpec:
    """Validated :class:`TaskSpec` (raises :class:`MissionError` naming the bad field)."""
    if kind not in TASK_KINDS:
        raise MissionError(f"task '{task_id}': field 'kind': got {kind!r}, expected one of "
                           f"{', '.join(TASK_KINDS)}")
    if not task_id:
        raise MissionError(f"task of kind '{kind}': field 'id': got '', expected a non-empty id")
    if method not in ("pin", "door"):
        raise MissionError(f"task '{task_id}': field 'method': got {method!r}, expected pin|door")
    if not dwell_s >= 0.0:
        raise MissionError(f"task '{task_id}': field 'dwell_s': got {dwell_s}, expected >= 0")
    if not math.isfinite(not_before):
        raise MissionError(f"task '{task_id}': field 'not_before': got {not_before}, expected a "
                           "time in s (0: none)")
    oid = (order_id or task_id) if kind == "deliver" else order_id
    return TaskSpec(cast(TaskKind, kind), task_id, x, y, theta, dwell_s, oid,
                    cast(HandoverMethod, method),
                    not_before if kind in ("deliver", "patrol") else 0.0)


@dataclass(frozen=True, slots=True)
class MissionState:
    """Progress of one mission: ``index`` of the task under way, order ids on board, completed
    task ids and (task id, reason) failures. This is what survives a node restart."""

    mission_id: str
    tasks: tuple[TaskSpec, ...]
    index: int = 0
    parcels: tuple[str, ...] = ()
    completed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    @property
    def current(self) -> TaskSpec | None:
        """The task under way, None when the mission is finished."""
        return self.tasks[self.index] if self.index < len(self.tasks) else None

    @property
    def finished(self) -> bool:
        """True once every task has an outcome."""
        return self.index >= len(self.tasks)


def new_mission(mission_id: str, tasks: tuple[TaskSpec, ...],
                carried: tuple[str, ...] = ()) -> MissionState:
    """A mission at its first task, with ``carried`` order ids (left from an earlier mission)
    and the parcel of every deliver task on board."""
    ids = [t.id for t in tasks]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise MissionError(f"mission '{mission_id}': field 'tasks': duplicate task id {dup[0]!r}")
    parcels = tuple(dict.fromkeys((*carried, *(t.order_id for t in tasks if t.kind == "deliver"))))
    return MissionState(mission_id, tasks, parcels=parcels)


class Step(Enum):
    """Where one task is."""

    NAVIGATE = "navigating"
    HOLD = "held"  # navigation stopped for safety; tried again after HOLD_RETRY_S
    WAIT = "waiting_window"  # at the door before the order's window opens
    HANDOVER = "handover"
    DWELL = "dwelling"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """A MissionEvent to publish (``event`` is one of MissionEvent.EVENT_*) or, when
    ``event`` is 'announce', a line for the speaker."""

    event: str
    detail: str = ""
    method: str = ""
    cause: NavCause | None = None  # held/failed after navigation: the navigator's cause


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One task in progress since ``since`` s; ``ok``/``reason`` are set once DONE."""

    task: TaskSpec
    step: Step
    since: float
    handover: StopHandover | None = None
    ok: bool = False
    reason: str = ""
    retries: int = 0  # goals refused at once so far (see REJECTED_RETRIES)
    cause: NavCause | None = None  # a task failed by navigation: the navigator's cause

    @property
    def failure(self) -> NavCause | FailReason | None:
        """Why a DONE task failed, typed: the navigator's cause (the leg failed) or the
        handover's (absent, wrong_pin_limit, timeout); None when it has not failed."""
        if self.step is not Step.DONE or self.ok:
            return None
        if self.cause is not None:
            return self.cause
        return self.handover.reason if self.handover is not None else None

    @property
    def state(self) -> str:
        """Short state for feedback: 'navigating', 'announced', 'waiting_pin', 'dwelling', …"""
        if self.step is Step.HANDOVER and self.handover is not None:
            return self.handover.phase.value
        return self.step.value


Transition = tuple[TaskRun, tuple[TaskEvent, ...]]

#: s between tries of a held task.
HOLD_RETRY_S = 5.0
#: A goal refused within REJECTED_AT_ONCE_S of being sent is tried again (after HOLD_RETRY_S)
#: up to REJECTED_RETRIES times before the task fails: the refusal may come from where the robot
#: believes it is (a localization glitch, a robot pushed off the sidewalk), which passes.
REJECTED_AT_ONCE_S = 2.0
REJECTED_RETRIES = 6
#: m from the entrance within which a robot whose way to the door stays blocked (another robot
#: waiting there, a parked scooter) hands over where it stands rather than failing the stop.
DOOR_REACH_M = 3.0
#: m from a patrol or look point within which a robot whose way there stays blocked (a queue
#: standing on it, a crowd) watches from where it stands: it sees the place and is seen there.
WATCH_REACH_M = 8.0


def begin_task(task: TaskSpec, now: float, resumed: bool = False) -> Transition:
    """Start ``task`` at ``now`` s: the robot sets off (navigation is the caller's job)."""
    detail = "resumed after restart" if resumed else ""
    return TaskRun(task, Step.NAVIGATE, now), (TaskEvent("started", detail),)


def finish_navigation(run: TaskRun, now: float, result: NavResult, x: float, y: float,
                      robot_id: str, pin: str, rules: HandoverRules,
                      parcels: tuple[str, ...]) -> Transition:
    """The navigator finished the leg at (x, y) m with ``result``: decided on its cause (never
    on the words of its reason). A safety stop (HOLD_CAUSES) holds the task to try again; a
    delivery BLOCKED within DOOR_REACH_M of the door hands over there, a patrol or look BLOCKED
    within WATCH_REACH_M of its point watches from there; any other failure soon
    after the goal was sent is tried again (up to REJECTED_RETRIES), later ones fail the task.
    Reached: the task's on-site part starts. ``pin`` is the expected PIN (deliver); ``parcels``
    are on board (listed by return)."""
    if run.step is not Step.NAVIGATE:
        raise MissionError(f"task '{run.task.id}': navigation finished in step {run.step.name}")
    task = run.task
    succeeded, reason, cause = result.ok, result.reason, result.cause
    if cause in HOLD_CAUSES:
        return replace(run, step=Step.HOLD, since=now), (TaskEvent("held", reason, cause=cause),)
    near = math.hypot(x - task.x, y - task.y)
    if cause is NavCause.BLOCKED and task.kind == "deliver" and near <= DOOR_REACH_M:
        succeeded = True  # the door is occupied: close enough to hand over
        reason = f"door occupied: handover {near:.1f} m from the entrance"
    elif (cause is NavCause.BLOCKED and task.kind in ("patrol", "investigate")
          and near <= WATCH_REACH_M):
        succeeded = True  # the place is in view: watch it from here
        reason = f"way blocked: watching from {near:.1f} m"
    if not succeeded and now - run.since < REJECTED_AT_ONCE_S and run.retries < REJECTED_RETRIES:
        n = run.retries + 1
        return replace(run, step=Step.HOLD, since=now, retries=n), (
            TaskEvent("held", f"retry {n}/{REJECTED_RETRIES}: {reason or 'goal refused'}",
                      cause=cause),)
    if not succeeded:
        # The navigator's UNREACHABLE reasons say so themselves; the others are told as such.
        why = (reason if cause is NavCause.UNREACHABLE and reason
               else f"unreachable: {reason}" if reason else "unreachable")
        return _done(run, now, False, why, cause), (TaskEvent("failed", why, cause=cause),)
    arrived = TaskEvent("arrived", reason)
    if task.kind == "deliver":
        s = arrive(start_stop(task.order_id, robot_id, task.method, pin, rules, now), now, x, y)
        run = replace(run, handover=s)
        if now < task.not_before:  # early: the recipient was promised the window, not before
            return replace(run, step=Step.WAIT, since=now), (
                arrived, TaskEvent("waiting", f"window opens in {task.not_before - now:.0f} s"))
        run, events = _announce(run, now)
        return run, (arrived, *events)
    if task.kind in ("patrol", "investigate"):
        say = "DawnPatrol safety patrol. This area is being observed."
        start = max(now, task.not_before) if task.kind == "patrol" else now
        return (replace(run, step=Step.DWELL, since=start),
                (arrived, TaskEvent("announce", say)))
    if task.kind == "return":
        listed = ",".join(parcels) if parcels else "none"
        return _done(run, now, True, ""), (arrived, TaskEvent("returned", f"parcels: {listed}"))
    return _done(run, now, True, ""), (arrived,)


def _announce(run: TaskRun, now: float) -> Transition:
    """At the door, the window open: announce the delivery (a door parcel is left at once)."""
    assert run.handover is not None
    task = run.task
    s = announce(run.handover, now)
    say = (f"Delivery for order {task.order_id}: please enter your PIN on the robot."
           if task.method == "pin" else f"Delivery for order {task.order_id} left at the door.")
    run = replace(run, step=Step.HANDOVER, since=now, handover=s)
    events = (TaskEvent("announced"), TaskEvent("announce", say))
    if s.phase is Phase.HANDED_OVER:
        return _done(run, now, True, ""), (*events, TaskEvent("handed_over", method="door"))
    return run, events


#: s a patrol or investigation dwell may be lengthened, past its own dwell_s, while the robot
#: watches someone lingering in a watch zone until the loitering rule decides (the longest
#: watch zone's loitering time, 300 s, and a margin).
WATCH_MAX_S = 330.0
#: s past the moment the rule would be met that the robot stays (scans, tracker lag).
WATCH_MARGIN_S = 5.0


def tick_run(run: TaskRun, now: float, watch_until: float = 0.0) -> Transition:
    """Apply time at ``now`` s: the window opening for a robot waiting at the door, handover
    timeouts (absent, PIN timeout), the dwell's end, and the retry of a held task (back to
    NAVIGATE: the caller sends the goal again). ``watch_until`` (s, 0 = nothing to watch):
    the anomaly monitor sees someone lingering whose stay the loitering rule decides then —
    a dwell goes on until WATCH_MARGIN_S after it, at most WATCH_MAX_S past its own end."""
    if run.step is Step.WAIT:
        return _announce(run, now) if now >= run.task.not_before else (run, ())
    if run.step is Step.HOLD:
        if now - run.since >= HOLD_RETRY_S:
            return replace(run, step=Step.NAVIGATE, since=now), ()
        return run, ()
    if run.step is Step.HANDOVER and run.handover is not None:
        s = tick(run.handover, now)
        if s.phase is Phase.FAILED:
            reason = s.reason or "timeout"
            return _done(replace(run, handover=s), now, False, reason), (
                TaskEvent("failed", reason),)
        return replace(run, handover=s), ()
    if run.step is Step.DWELL and now - run.since >= run.task.dwell_s:
        over = now - run.since - run.task.dwell_s
        if now < watch_until + WATCH_MARGIN_S and over < WATCH_MAX_S:
            return run, ()  # someone lingers in view: stay until the rule decides
        detail = f"{run.task.dwell_s:g} s"
        if over >= 1.0:
            detail += f" + {over:.0f} s watching someone lingering"
        return _done(run, now, True, ""), (TaskEvent("dwell_done", detail),)
    return run, ()


def task_eta(run: TaskRun | None, now: float, nav_distance_m: float,
             nav_eta_s: float) -> tuple[float, float]:
    """(distance left m, ETA s) of the current task at ``now`` s: the navigator's leg
    (while navigating) plus the dwell still to do; (0, NaN) with no task."""
    if run is None:
        return 0.0, math.nan
    if run.step is Step.NAVIGATE:
        dwell = run.task.dwell_s if run.task.kind in ("patrol", "investigate") else 0.0
        return nav_distance_m, nav_eta_s + dwell
    if run.step is Step.DWELL:
        return 0.0, max(run.task.dwell_s - (now - run.since), 0.0)
    if run.step is Step.WAIT:
        return 0.0, max(run.task.not_before - now, 0.0)
    return 0.0, 0.0


def submit_pin(run: TaskRun, now: float, order_id: str, pin: str) -> tuple[TaskRun, tuple[
        TaskEvent, ...], bool, str]:
    """A PIN typed for ``order_id``: (run, events, accepted, message for the keypad)."""
    s = run.handover
    if run.step is not Step.HANDOVER or s is None or s.order_id != order_id:
        return run, (), False, f"no handover waiting for order '{order_id}'"
    if s.phase not in (Phase.ANNOUNCED, Phase.WAITING_PIN):
        return run, (), False, f"order '{order_id}' is {s.phase.value}"
    s = enter_pin(s, now, pin)
    run = replace(run, handover=s)
    if s.phase is Phase.HANDED_OVER:
        return _done(run, now, True, ""), (TaskEvent("handed_over", method=s.method),), True, \
            "accepted"
    if s.phase is Phase.FAILED:
        reason = s.reason or "timeout"
        return _done(run, now, False, reason), (TaskEvent("failed", reason),), False, reason
    left = s.rules.max_pin_attempts - s.attempts
    return run, (), False, f"wrong PIN, {left} attempt(s) left"


def _done(run: TaskRun, now: float, ok: bool, reason: str,
          cause: NavCause | None = None) -> TaskRun:
    return replace(run, step=Step.DONE, since=now, ok=ok, reason=reason, cause=cause)


def record_outcome(state: MissionState, run: TaskRun) -> MissionState:
    """Advance past a DONE task: a delivered parcel leaves the robot, a return unloads all."""
    if run.step is not Step.DONE:
        raise MissionError(f"task '{run.task.id}': outcome recorded in step {run.step.name}")
    parcels = state.parcels
    if run.ok and run.task.kind == "deliver":
        parcels = tuple(p for p in parcels if p != run.task.order_id)
    elif run.ok and run.task.kind == "return":
        parcels = ()
    if run.ok:
        return replace(state, index=state.index + 1, parcels=parcels,
                       completed=(*state.completed, run.task.id))
    return replace(state, index=state.index + 1, parcels=parcels,
                   failed=(*state.failed, (run.task.id, run.reason)))


def cancel_mission(state: MissionState, reason: str) -> MissionState:
    """Mark every remaining task failed with ``reason`` (parcels stay on board)."""
    rest = tuple((t.id, reason) for t in state.tasks[state.index:])
    return replace(state, index=len(state.tasks), failed=(*state.failed, *rest))


def mission_to_json(state: MissionState) -> str:
    """The persisted form of ``state`` (JSON text)."""
    return json.dumps({
        "version": 1, "mission_id": state.mission_id, "index": state.index,
        "parcels": list(state.parcels), "completed": list(state.completed),
        "failed": [list(f) for f in state.failed],
        "tasks": [{"kind": t.kind, "id": t.id, "x": t.x, "y": t.y, "theta": t.theta,
                   "dwell_s": t.dwell_s, "order_id": t.order_id, "method": t.method,
                   "not_before": t.not_before}
                  for t in state.tasks],
    }, indent=1)


def mission_from_json(text: str, source: str) -> MissionState:
    """Parse :func:`mission_to_json` text; :class:`MissionError` names ``source`` and field."""
    field = "json"
    try:
        d = json.loads(text)
        field = "version"
        if d["version"] != 1:
            raise ValueError(d["version"])
        field = "tasks"
        tasks = tuple(make_task(str(t["kind"]), str(t["id"]), float(t["x"]), float(t["y"]),
                                float(t["theta"]), float(t["dwell_s"]), str(t["order_id"]),
                                str(t["method"]), float(t.get("not_before", 0.0)))
                      for t in d["tasks"])
        field = "index"
        index = int(d["index"])
        if not 0 <= index <= len(tasks):
            raise ValueError(index)
        field = "parcels"
        parcels = tuple(str(p) for p in d["parcels"])
        field = "completed"
        completed = tuple(str(c) for c in d["completed"])
        field = "failed"
        failed = tuple((str(f[0]), str(f[1])) for f in d["failed"])
        return MissionState(str(d["mission_id"]), tasks, index, parcels, completed, failed)
    except (ValueError, KeyError, TypeError, IndexError, MissionError) as exc:
        raise MissionError(f"{source}: field '{field}': got {exc!s:.80}, expected a mission "
                           "state written by mission_to_json") from None

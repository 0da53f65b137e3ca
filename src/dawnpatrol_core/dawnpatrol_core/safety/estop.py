"""Emergency stop latch: once triggered the robot stays stopped until an explicit resume."""

from __future__ import annotations

from dataclasses import dataclass

from dawnpatrol_core.errors import SafetyError


@dataclass(frozen=True, slots=True)
class EStopEvent:
    """One e-stop transition: at ``time`` (s), ``engaged`` True for a stop, False for a resume."""

    time: float
    engaged: bool
    who: str
    why: str


class EStop:
    """The e-stop latch. ``trigger`` engages it; only ``resume`` (naming who and why) clears it."""

    def __init__(self) -> None:
        self._events: list[EStopEvent] = []

    @property
    def engaged(self) -> bool:
        """True while the robot must stay stopped."""
        return bool(self._events) and self._events[-1].engaged

    @property
    def history(self) -> tuple[EStopEvent, ...]:
        """Every trigger and resume, oldest first (for the shift report)."""
        return tuple(self._events)

    @property
    def reason(self) -> str:
        """Why the latch is engaged ("" when clear), e.g. ``e-stop by operator: crowd``."""
        if not self.engaged:
            return ""
        e = self._events[-1]
        return f"e-stop by {e.who}: {e.why}"

    def trigger(self, now: float, who: str, why: str) -> None:
        """Engage the latch at ``now`` (s). Triggering an engaged latch is recorded too."""
        self._events.append(EStopEvent(now, True, who or "unknown", why or "unspecified"))

    def resume(self, now: float, who: str, why: str) -> None:
        """Release the latch; refused (SafetyError) without a named person and a reason."""
        if not who.strip() or not why.strip():
            raise SafetyError(
                f"e-stop resume: field 'who'/'why': got {who!r}/{why!r}, expected both non-empty"
            )
        if self.engaged:
            self._events.append(EStopEvent(now, False, who, why))

"""Why a navigation goal ended: a typed cause beside the human reason, as Nav2 results carry an
error code. The ``navigate`` action's result carries it (``Navigate.Result.CAUSE_*``, same names);
the mission decides on it, never on the words of the reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class NavCause(Enum):
    """How a goal ended. Names match ``Navigate.Result.CAUSE_<NAME>``."""

    NONE = "none"                            # reached
    SAFETY_STOP = "safety_stop"              # e-stop, lost fleet heartbeat, outside operating hours
    LOCALIZATION_LOST = "localization_lost"  # LOST for longer than the navigator waits
    POSE_LOST = "pose_lost"                  # no (fresh) pose: the robot cannot know where it is
    UNREACHABLE = "unreachable"              # no route or grid path to the goal
    BLOCKED = "blocked"                      # the way stayed blocked after replanning/recovery
    REJECTED = "rejected"                    # the goal itself is not allowed (keep-out, frame, ...)
    CANCELED = "canceled"                    # canceled or preempted by a new goal
    UNKNOWN = "unknown"                      # failed, the navigator did not say why


#: Causes for which the robot was stopped for safety, not because the place cannot be reached:
#: the mission holds the task and tries it again.
HOLD_CAUSES = frozenset({NavCause.SAFETY_STOP, NavCause.LOCALIZATION_LOST, NavCause.POSE_LOST})


@dataclass(frozen=True, slots=True)
class NavResult:
    """The end of a navigation goal: ``cause`` NONE when reached; ``reason`` one line for people."""

    cause: NavCause
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.cause is NavCause.NONE


REACHED = NavResult(NavCause.NONE)

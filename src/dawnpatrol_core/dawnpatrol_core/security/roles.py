"""Operator roles and the permission table: which role a command needs.

Roles are ordered (viewer < dispatcher < supervisor < admin); each role may do what the roles
below it may. The fleet's own key acts as admin towards the robots.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from types import MappingProxyType

from dawnpatrol_core.errors import SecurityError


class Role(IntEnum):
    """An operator's role; a larger value may do everything a smaller one may."""

    VIEWER = 1
    DISPATCHER = 2
    SUPERVISOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        """Lower-case name as written in files, envelopes and the CLI (``supervisor``)."""
        return self.name.lower()


ROLE_NAMES: tuple[str, ...] = tuple(r.label for r in Role)
#: The target of commands addressed to the fleet as a whole (robots are targeted by id).
FLEET_TARGET = "fleet"


def parse_role(text: object, source: str = "role") -> Role:
    """The :class:`Role` named ``text`` (``viewer`` ... ``admin``); SecurityError otherwise."""
    if isinstance(text, str):
        for r in Role:
            if r.label == text:
                return r
    raise SecurityError(
        f"{source}: got {str(text)[:40]!r}, expected one of {', '.join(ROLE_NAMES)}")


class Command(StrEnum):
    """Every command an envelope can authorize: the operator's commands to the fleet, and the
    fleet's commands to a robot. Values are the names the fleet's audit log uses."""

    # viewer
    GET_STATUS = "get_status"
    QUERY_ANOMALIES = "query_anomalies"
    GENERATE_REPORT = "generate_report"
    # dispatcher
    DISPATCH_ORDERS = "dispatch_orders"
    SET_PATROL = "set_patrol"
    ACK_ANOMALY = "ack_anomaly"
    MISSION = "mission"
    CANCEL_MISSION = "cancel_mission"
    # supervisor
    RESUME = "resume"
    CLOSE_EDGES = "close_edges"
    INVESTIGATE = "investigate"
    # admin
    REGISTRY_ADD = "registry_add"
    REGISTRY_REVOKE = "registry_revoke"
    # anyone: an e-stop is never refused (see required_role)
    ESTOP = "estop"
    # a robot's keypad (signed with the robot's onboard key, which alone is trusted for it)
    SUBMIT_PIN = "submit_pin"


#: The least role each command needs. An e-stop needs only a viewer's and is never blocked by
#: security anyway: a robot stops on any e-stop and only records who asked.
PERMISSIONS: MappingProxyType[Command, Role] = MappingProxyType({
    Command.GET_STATUS: Role.VIEWER,
    Command.QUERY_ANOMALIES: Role.VIEWER,
    Command.GENERATE_REPORT: Role.VIEWER,
    Command.ESTOP: Role.VIEWER,
    Command.SUBMIT_PIN: Role.VIEWER,
    Command.DISPATCH_ORDERS: Role.DISPATCHER,
    Command.SET_PATROL: Role.DISPATCHER,
    Command.ACK_ANOMALY: Role.DISPATCHER,
    Command.MISSION: Role.DISPATCHER,
    Command.CANCEL_MISSION: Role.DISPATCHER,
    Command.RESUME: Role.SUPERVISOR,
    Command.CLOSE_EDGES: Role.SUPERVISOR,
    Command.INVESTIGATE: Role.SUPERVISOR,
    Command.REGISTRY_ADD: Role.ADMIN,
    Command.REGISTRY_REVOKE: Role.ADMIN,
})


def parse_command(text: object, source: str = "command") -> Command:
    """The :class:`Command` named ``text``; SecurityError for anything else."""
    if isinstance(text, str):
        try:
            return Command(text)
        except ValueError:
            pass
    raise SecurityError(
        f"{source}: got {str(text)[:40]!r}, expected a known command "
        f"({', '.join(c.value for c in Command)})"
    )


def required_role(command: Command) -> Role:
    """The least :class:`Role` allowed to issue ``command``."""
    return PERMISSIONS[command]


def allowed(role: Role, command: Command) -> bool:
    """True when ``role`` may issue ``command``."""
    return role >= PERMISSIONS[command]

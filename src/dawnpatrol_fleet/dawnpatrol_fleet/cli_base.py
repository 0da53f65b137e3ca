"""What every `dawnpatrol` verb shares: exit codes, one-line errors, output for people (tables,
clocks, a spinner) and programs (--json), and the base classes of verbs and of fleet verbs.
Only light modules are imported here: the parser every command builds must stay fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from dawnpatrol_fleet.operator_keys import FLEET_TARGET

if TYPE_CHECKING:
    from dawnpatrol_core.security.roles import Command
    from dawnpatrol_fleet.client import FleetClient

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_TIMEOUT_S = 3.0

T = TypeVar("T")


class CliError(Exception):
    """A command failed with a message for the operator and an exit ``code``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def operator_name(args: argparse.Namespace) -> str:
    """Who is commanding: ``--operator``, else $DAWNPATROL_OPERATOR, else $USER."""
    return str(
        getattr(args, "operator", None)
        or os.environ.get("DAWNPATROL_OPERATOR")
        or os.environ.get("USER")
        or "operator"
    )


def error_text(exc: BaseException) -> str:
    """``exc``'s message for stderr: one line, except where a bad input file has several
    problems (an orders file: one line each); its class name if it has no message."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return str(exc).strip() or type(exc).__name__


def exit_code_of(exc: BaseException) -> int:
    """The exit code an exception stands for: its own (CliError), 2 for bad input (any
    DawnPatrolError: a file, a field, an argument), else 1."""
    if isinstance(exc, CliError):
        return exc.code
    from dawnpatrol_core.errors import DawnPatrolError

    return EXIT_BAD_INPUT if isinstance(exc, DawnPatrolError) else EXIT_FAILED


# -- output for people ---------------------------------------------------------------------------
def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print ``rows`` under ``columns`` as a titled table on stdout; None prints as empty."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    Console().print(t)


def wall_clock(t: float | None) -> str:
    """``YYYY-MM-DD HH:MM UTC`` of a Unix time in seconds, '-' for None."""
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def with_spinner(text: str, fn: Callable[[], T]) -> T:
    """``fn()``, with a spinner and ``text`` on stderr while it runs when stderr is a terminal."""
    if not sys.stderr.isatty():
        return fn()
    from rich.console import Console

    with Console(stderr=True).status(text):
        return fn()


# -- output for programs -------------------------------------------------------------------------
def finite(data: Any) -> Any:
    """``data`` with NaN/inf floats as None: strict JSON (jq, browsers) has no NaN."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


def to_json(data: object, indent: int | None = 2) -> str:
    """Strict JSON of ``data`` for --json output (sorted keys; NaN and inf as null)."""
    return json.dumps(finite(data), indent=indent, sort_keys=True, default=str, allow_nan=False)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: machine-readable output instead of tables."""
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")


# -- verbs ---------------------------------------------------------------------------------------
class Verb:
    """One `dawnpatrol` command, as ros2cli's verbs: ``add_arguments(parser)`` then
    ``main(args) -> exit code``. Subclasses implement :meth:`run`; :meth:`main` turns any failure
    into a line on stderr (``dawnpatrol NAME: what went wrong``), never a traceback, and its exit
    code. Heavy
    imports (rclpy, interfaces, numpy, PIL, shapely, cryptography) belong inside ``run``."""

    name: ClassVar[str]
    help: ClassVar[str]
    #: Longer text for ``dawnpatrol NAME --help`` (default: ``help``).
    description: ClassVar[str | None] = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this command's options and arguments to ``parser``."""

    def main(self, args: argparse.Namespace) -> int:
        """Run the command; returns its exit code, never raises (but SystemExit)."""
        try:
            return self.run(args)
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, no traceback
            print(f"dawnpatrol {self.name}: {error_text(exc)}", file=sys.stderr)
            return exit_code_of(exc)

    def run(self, args: argparse.Namespace) -> int:
        """The command itself; raise CliError (or a DawnPatrolError for bad input) to fail."""
        raise NotImplementedError


class FleetSession:
    """The fleet as one command sees it. Every request to the fleet manager goes out through
    :meth:`send`, the one place where a request is stamped for the fleet: it carries the
    operator's signed command envelope (docs/security.md)."""

    def __init__(self, client: FleetClient, operator: str) -> None:
        self.client = client
        self.operator = operator

    def sign(self, command: Command, target: str, request: Any) -> None:
        """Put the operator's signed envelope for ``command`` on ``target`` into ``request``.
        Without a readable key an e-stop still goes out (unsigned: never blocked, recorded as
        unverified); any other command fails here, naming the key file."""
        from dawnpatrol_core.errors import SecurityError
        from dawnpatrol_core.security.roles import Command as Cmd
        from dawnpatrol_fleet.operator_keys import sign_for_fleet
        from dawnpatrol_ros.signing import message_fields

        try:
            request.envelope = sign_for_fleet(command, target, message_fields(request),
                                              self.operator)
        except SecurityError as exc:
            if command is Cmd.ESTOP:
                request.envelope = ""
                print(f"warning: e-stop sent unsigned ({exc})", file=sys.stderr)
                return
            raise SecurityError(f"cannot sign {command.value} as {self.operator}: {exc} "
                                f"(create a key: dawnpatrol keys new {self.operator})") from None

    def send(self, command: Command, srv_type: Any, service: str, request: Any,
             target: str = FLEET_TARGET, timeout: float | None = None) -> Any:
        """Sign ``request`` for ``command`` on ``target`` (a robot id, '*' or 'fleet') and call
        ``service``; FleetUnreachableError if it does not answer within ``timeout`` s (default:
        --timeout). A refusal the response carries in ``refused`` fails the command (exit 1)."""
        self.sign(command, target, request)
        res = self.client.call(srv_type, service, request, timeout=timeout)
        refused = getattr(res, "refused", "")
        if refused:
            raise CliError(refused, EXIT_FAILED)
        return res


class FleetVerb(Verb):
    """A command to the fleet manager: --operator and --timeout (and --json when
    ``json_output``), a ROS link to the fleet for the length of the command, and exit code 3 when
    the fleet does not answer. Subclasses implement :meth:`command`."""

    json_output: ClassVar[bool] = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--operator",
            help="who you are: commands are signed with <key dir>/NAME.key (default: "
            "$DAWNPATROL_OPERATOR, then $USER; key dir: $DAWNPATROL_KEY_DIR, else "
            "~/.config/dawnpatrol/keys)",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT_S,
            help="seconds to wait for the fleet before exit code 3 (default 3: the whole command "
            "then ends within 5 s)",
        )
        if self.json_output:
            add_json_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from dawnpatrol_fleet.client import FleetClient, FleetUnreachableError

        client = FleetClient(timeout=args.timeout)
        try:
            return self.command(args, FleetSession(client, operator_name(args)))
        except FleetUnreachableError as exc:
            raise CliError(str(exc), EXIT_UNREACHABLE) from None
        finally:
            client.close()

    def command(self, args: argparse.Namespace, fleet: FleetSession) -> int:
        """The command, talking to the fleet through ``fleet``; returns the exit code."""
        raise NotImplementedError

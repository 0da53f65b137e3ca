"""The mission node's persisted state: one JSON file per robot, replaced atomically on every
change, so a killed and respawned node resumes the mission from its current task."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dawnpatrol_core.delivery.mission import MissionState, mission_from_json, mission_to_json


class MissionStateFile:
    """``<state_dir>/mission.json``: present only while a mission is in progress."""

    def __init__(self, state_dir: str | Path) -> None:
        self.dir = Path(state_dir).expanduser()
        self.path = self.dir / "mission.json"

    def load(self) -> MissionState | None:
        """The mission in progress, or None; MissionError if the file is corrupt."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return mission_from_json(text, str(self.path))

    def save(self, state: MissionState) -> None:
        """Write ``state`` atomically (temp file + fsync + rename)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".mission.", dir=self.dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(mission_to_json(state))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        """Forget the mission (it finished or was canceled)."""
        self.path.unlink(missing_ok=True)

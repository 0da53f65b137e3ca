"""Building entrances (delivery points) from ``addresses.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dawnpatrol_core.errors import MapError, field_error, finite_number, one_line, shown
from dawnpatrol_core.geometry import Pose2D

HANDOVER_METHODS = ("pin", "door")


@dataclass(frozen=True, slots=True)
class Address:
    """An entrance: ``pose`` is where the robot stops, facing the door (map frame, m/rad).
    ``line`` is the source line of the entry (for error messages)."""

    id: str
    address_ko: str
    address_en: str
    pose: Pose2D
    handover: str
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records each mapping's 1-based line under the key ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_addresses(path: str | Path) -> tuple[Address, ...]:
    """Read ``addresses.yaml`` (``addresses: [{id, address_ko, address_en, pose, handover}]``)."""
    p = Path(path)
    src = str(p)
    try:
        doc = yaml.load(p.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except (OSError, ValueError, RecursionError, yaml.YAMLError) as exc:
        # ValueError: undecodable bytes, or a YAML date like 2026-13-45; RecursionError: nesting
        raise MapError(f"{src}: cannot read addresses: {one_line(exc)}") from None
    items = doc.get("addresses") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise MapError(field_error(src, "addresses", type(items).__name__, "a list"))
    out: list[Address] = []
    seen: set[str] = set()
    for it in items:
        if not isinstance(it, dict):
            raise MapError(field_error(src, "addresses[]", it, "a mapping"))
        line = int(it.get("__line__", 0))
        aid = it.get("id")
        where = f"{src}:{line}: address id {shown(aid, 40)}"
        if not isinstance(aid, str) or not aid or aid in seen:
            raise MapError(f"{where}: field 'id': expected a unique non-empty string")
        seen.add(aid)
        for key in ("address_ko", "address_en"):
            if not isinstance(it.get(key), str) or not it[key]:
                raise MapError(f"{where}: field '{key}': got {shown(it.get(key))}, expected a "
                               "string")
        pose = it.get("pose")
        xyz = [finite_number(v) for v in pose] if isinstance(pose, list) else []
        nums = [v for v in xyz if v is not None]
        if len(xyz) != 3 or len(nums) != 3:
            raise MapError(f"{where}: field 'pose': got {shown(pose)}, expected [x, y, yaw] "
                           "finite numbers")
        handover = it.get("handover")
        if handover not in HANDOVER_METHODS:
            raise MapError(f"{where}: field 'handover': got {shown(handover)}, expected pin or "
                           "door")
        out.append(
            Address(
                aid,
                it["address_ko"],
                it["address_en"],
                Pose2D(nums[0], nums[1], nums[2]),
                handover,
                line,
            )
        )
    return tuple(out)

"""The floor plan: each package imports only packages on lower floors (no upward arrow, no
package cycle). Every import counts, also those inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: bottom to top (docs/architecture.md)
FLOORS = (
    "domain",
    "artifacts",
    "intent",
    "context",
    "recommender",
    "experiments",
    "service",
    "app",
    "demo",
    "evaluation",
    "waypoint",
)
LEVEL = {name: i for i, name in enumerate(FLOORS)}


def _imported(path: Path) -> list[tuple[str, int]]:
    """Absolute names of the modules ``path`` imports, with their line."""
    module = list(path.relative_to(REPO).with_suffix("").parts)
    package = module[:-1]  # a module's package; for an __init__, the package itself
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            out.append((".".join([*base, *([node.module] if node.module else [])]), node.lineno))
    return out


def _upward(floor: str) -> list[str]:
    found = []
    for path in sorted((REPO / floor).rglob("*.py")):
        for name, line in _imported(path):
            top = name.split(".")[0]
            if top in LEVEL and LEVEL[top] > LEVEL[floor]:
                found.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("floor", [f for f in FLOORS if (REPO / f).is_dir()])
def test_a_floor_imports_only_lower_floors(floor: str) -> None:
    assert _upward(floor) == []


def test_every_package_has_a_floor() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(FLOORS), f"give {sorted(packages - set(FLOORS))} a floor"

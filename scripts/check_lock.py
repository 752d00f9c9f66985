"""Check that this environment holds exactly what requirements.lock pins.

Run by ``make setup`` after installing from the lock, and by ``tests/test_lock.py``. Fails (exit
1, one line per problem) when
- a package the lock pins for this interpreter and platform is missing or at another version;
- a package is installed that the lock does not pin (other than pip and wangge itself);
- pyproject.toml asks for a package the lock lacks (someone added a dependency: run
  ``make lock``).
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
# installed but never pinned: the installer itself and the project (installed editable)
UNPINNED = {"pip", "wangge"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pinned(lock: Path = LOCK) -> dict[str, str]:
    """Name -> version the lock pins for this interpreter and platform (markers evaluated)."""
    out: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line)
        if m is None:
            continue
        name, version, marker = m.groups()
        if marker and not Marker(marker).evaluate():
            continue
        out[canonicalize_name(name)] = version
    return out


def installed() -> dict[str, str]:
    """Name -> version of every distribution installed in this environment."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def declared() -> set[str]:
    """Every package pyproject.toml names (dependencies and all extras), for this platform."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    names = set()
    for spec in specs:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.add(canonicalize_name(req.name))
    return names


def problems() -> list[str]:
    lock, have = pinned(), installed()
    out = [
        f"{name}: the lock pins {version}, installed {have.get(name, 'nothing')}"
        for name, version in sorted(lock.items())
        if have.get(name) != version
    ]
    out += [
        f"{name} {version} is installed but not in requirements.lock"
        for name, version in sorted(have.items())
        if name not in lock and name not in UNPINNED
    ]
    out += [
        f"pyproject.toml asks for {name}, which requirements.lock lacks: run `make lock`"
        for name in sorted(declared() - lock.keys())
    ]
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(f"check_lock: {line}", file=sys.stderr)
    if found:
        print(
            "check_lock: run `make setup` (or `make lock` after editing pyproject.toml)",
            file=sys.stderr,
        )
        return 1
    print(f"check_lock: {len(pinned())} packages installed exactly as requirements.lock pins them")
    return 0


if __name__ == "__main__":
    sys.exit(main())

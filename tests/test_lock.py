"""Reproducible installs: the environment the tests run in is exactly requirements.lock."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_installed_versions_are_exactly_the_locks() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_lock.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_every_pin_carries_a_hash() -> None:
    """``pip install --require-hashes`` (make setup) refuses a pin without one."""
    lines = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pins = [i for i, line in enumerate(lines) if "==" in line and not line.startswith("#")]
    assert len(pins) > 50
    for i in pins:
        assert lines[i + 1].strip().startswith("--hash=sha256:"), lines[i]

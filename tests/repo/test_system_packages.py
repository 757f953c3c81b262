"""`make test` and .ci/run get the system packages the tests need from one script, which
installs what is missing or fails saying what to install."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "scripts" / "system-packages"


def test_make_test_and_ci_install_the_system_packages_first() -> None:
    """Only .ci/run installed them: `make test` skipped the plot test without Chromium."""
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert recipe, "no test target in the Makefile"
    assert recipe.group(1).splitlines()[0] == "\tscripts/system-packages"
    assert "\nscripts/system-packages\n" in (REPO / ".ci" / "run").read_text()
    assert os.access(SCRIPT, os.X_OK)


def test_without_a_way_to_install_it_fails_saying_what_to_install(tmp_path: Path) -> None:
    """No Chromium and no apt-get on PATH: exit 1, the package named, nothing installed."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "id").symlink_to("/usr/bin/id")
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: the tests need "), result.stderr
    assert "chromium (not installed)" in result.stderr
    assert "no apt-get" in result.stderr and "apt-get install -y" in result.stderr

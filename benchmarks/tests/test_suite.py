# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/suite.py and what writes its file: scripts/test.sh (run with a stand-in `make`, so
no lab starts) appends one line per finished run and keeps its exit code; the newest line is read."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import suite  # pylint: disable=wrong-import-position

RUNS = """\
start\tend\tseconds\texit_code\tcommit\tnproc
2026-12-06T10:00:00Z\t2026-12-06T11:09:44Z\t4184\t0\t26d1057\t2
2026-12-06T13:02:11Z\t2026-12-06T13:49:03Z\t2812\t2\t84ba3dc\t2
2026-12-06T14:00:00Z\t2026-12-06T14:
"""


def test_the_newest_whole_line_is_the_run():
    # The last line was cut short (a run killed while writing): the one before is the newest.
    assert suite.newest(RUNS) == suite.SuiteRun("2026-12-06T13:02:11Z", "2026-12-06T13:49:03Z", 2812, 2, "84ba3dc", 2)
    assert suite.newest(RUNS).to_dict()["exit_code"] == 2


@pytest.mark.parametrize("text", ["", "start\tend\tseconds\texit_code\tcommit\tnproc\n", "\n\n"])
def test_no_run_recorded(text):
    assert suite.newest(text) is None


def test_a_checkout_without_git_is_named_with_a_dash():
    assert suite.parse_line("a\tb\t5\t0\t-\t4").commit == "-"


FAKE_MAKE = """#!/bin/sh
# make as scripts/test.sh calls it: `make --no-print-directory <target>`; nothing real runs.
case "$2" in
  static) exit "${FAKE_STATIC_RC:-0}" ;;
  molecule) exit "${FAKE_MOLECULE_RC:-0}" ;;
  *) exit 0 ;;
esac
"""


def _test_sh(tmp_path: pathlib.Path, *, static_rc: int, molecule_rc: int) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "make").write_text(FAKE_MAKE, encoding="utf-8")
    (bin_dir / "make").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", LAB_LOG_DIR=str(tmp_path / "logs" / "lab"),
               DJANGOOPS_STATIC_LOG=str(tmp_path / "static.log"), FAKE_STATIC_RC=str(static_rc), FAKE_MOLECULE_RC=str(molecule_rc))
    return subprocess.run(["bash", str(CHECKOUT / "scripts" / "test.sh")], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("static_rc", "molecule_rc", "exit_code"), [(0, 0, 0), (3, 0, 3), (0, 4, 4)])
def test_make_test_records_each_finished_run_and_keeps_its_exit_code(tmp_path, static_rc, molecule_rc, exit_code):
    done = _test_sh(tmp_path, static_rc=static_rc, molecule_rc=molecule_rc)
    assert done.returncode == exit_code, done.stdout + done.stderr
    text = (tmp_path / "logs" / "lab" / "suite-runs.tsv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "\t".join(suite.FIELDS)
    run = suite.newest(text)
    assert (run.exit_code, run.nproc) == (exit_code, len(os.sched_getaffinity(0)))  # what nproc counts
    assert 0 <= run.seconds < 120
    assert run.start.endswith("Z") and run.start <= run.end
    # A second run appends (one header, two runs).
    _test_sh(tmp_path, static_rc=0, molecule_rc=0)
    lines = (tmp_path / "logs" / "lab" / "suite-runs.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert suite.newest("\n".join(lines)).exit_code == 0

# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The runs of `make test` as scripts/test.sh records them: one tab-separated line per finished run
in ``${LAB_LOG_DIR:-/tmp/djangoops-lab-logs}/suite-runs.tsv``, after a header line::

    start                   end                     seconds  exit_code  commit   nproc
    2026-12-06T13:02:11Z    2026-12-06T13:49:03Z    2812     0          84ba3dc  2
"""

from __future__ import annotations

import dataclasses
import typing as t

FIELDS = ("start", "end", "seconds", "exit_code", "commit", "nproc")


@dataclasses.dataclass(frozen=True)
class SuiteRun:
    """One finished run of `make test`."""

    start: str
    end: str
    seconds: int
    exit_code: int
    commit: str
    nproc: int

    def to_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)


def parse_line(line: str) -> SuiteRun | None:
    """A run from one line of the file; None for the header, a blank or a damaged line (a run
    killed while it wrote its line)."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != len(FIELDS):
        return None
    start, end, seconds, exit_code, commit, nproc = fields
    try:
        return SuiteRun(start, end, int(seconds), int(exit_code), commit, int(nproc))
    except ValueError:
        return None


def newest(text: str) -> SuiteRun | None:
    """The last run recorded (the file is appended to), or None if it records none."""
    runs = [run for run in map(parse_line, text.splitlines()) if run is not None]
    return runs[-1] if runs else None

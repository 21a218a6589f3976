# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/plots.py: the series drawn, PNGs when matplotlib is there, a note when it is not."""

from __future__ import annotations

import pathlib
import sys

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from test_report import _deploy_before_issue_24, _results  # pylint: disable=wrong-import-position

from benchmarks.lib import plots  # pylint: disable=wrong-import-position

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_served_series():
    series = plots.served_series(_results()["benchmarks"]["served"])
    assert series["proxy, gthread"] == pytest.approx({1: 49.0, 2: 98.0, 4: 165.0})
    assert series["direct, gthread"] == pytest.approx({1: 53.0, 2: 101.5, 4: 200.0})
    assert series["proxy, sync"] == pytest.approx({1: 31.0, 2: 61.0})


def test_playbook_series():
    bars, scale = plots.playbook_series(_results()["benchmarks"]["playbook"])
    assert bars == pytest.approx({"first converge": 300.0, "no-change run": 42.0, "ansible -m ping": 5.5})
    assert scale == pytest.approx({2: 42.0, 4: 51.0, 8: 68.0})


def test_deploy_series():
    series = plots.deploy_series(_results()["benchmarks"]["deploy"])
    assert list(series) == ["2", "3", "4", "8, 25%"]
    assert series["2"] == pytest.approx({"drain": 6.0, "container": 4.0, "rest": 13.0})  # the median run's, 23 s in all
    assert series["8, 25%"] == pytest.approx({"drain": 6.0, "container": 4.0, "rest": 46.0})


def test_deploy_series_of_an_earlier_record():
    assert plots.deploy_series(_deploy_before_issue_24()) == {"2": {plots.WALL: 90.0}, "4": {plots.WALL: 200.0}}


def test_deploy_png_of_an_earlier_record(tmp_path):
    pytest.importorskip("matplotlib")
    results = _results()
    results["benchmarks"]["deploy"] = _deploy_before_issue_24()
    drawn, _note = plots.draw(results, tmp_path / "plots")
    assert drawn["deploy"].read_bytes().startswith(PNG_SIGNATURE)


def test_without_matplotlib_nothing_is_drawn(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    drawn, note = plots.draw(_results(), tmp_path / "plots")
    assert not drawn
    assert note == plots.NO_MATPLOTLIB
    assert not (tmp_path / "plots").exists()


def test_pngs_of_the_measured_benchmarks(tmp_path):
    pytest.importorskip("matplotlib")
    results = _results()
    results["benchmarks"]["deploy"]["status"] = "failed: deploy.yml did not start"
    drawn, note = plots.draw(results, tmp_path / "plots")
    assert note is None
    assert sorted(drawn) == ["playbook", "served"]
    for path in drawn.values():
        assert path.read_bytes().startswith(PNG_SIGNATURE)

# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PNG plots of results.json with matplotlib (benchmarks/requirements.txt), when it can be imported;
otherwise no plot is drawn and ``draw`` says so. The series are computed without matplotlib."""

from __future__ import annotations

import pathlib
import typing as t

from . import deploy_time, report

NO_MATPLOTLIB = "Plots were not drawn: matplotlib is not installed (pip install -r benchmarks/requirements.txt)."


def served_series(record: dict[str, t.Any]) -> dict[str, dict[int, float]]:
    """``{"proxy, gthread": {1: rps, 2: rps, 4: rps}, "direct, gthread": {...}, ...}``."""
    series: dict[str, dict[int, float]] = {}
    for row in report.served_rows(record):
        for side in ("proxy", "direct"):
            value = row[f"{side}_rps"]
            if value is not None:
                series.setdefault(f"{side}, {row['worker_class']}", {})[row["app_servers"]] = value
    return series


def playbook_series(record: dict[str, t.Any]) -> tuple[dict[str, float], dict[int, float]]:
    """(bars: first converge, no-change, ping in seconds; no-change seconds per app server count)."""
    summary = report.playbook_summary(record)
    bars = {"first converge": summary["first_converge"], "no-change run": summary["no_change"], "ansible -m ping": summary["ping"]}
    return ({name: value for name, value in bars.items() if value is not None},
            {servers: value for servers, value in summary["scale"].items() if value is not None})


WALL = "wall time (no breakdown recorded)"


def deploy_series(record: dict[str, t.Any]) -> dict[str, dict[str, float]]:
    """Per deploy configuration (``"2"``, ``"8, 25%"``): the median run's drain, container and rest
    seconds, or only its wall time in records from before the breakdown."""
    series = {}
    for row in report.deploy_rows(record):
        if not row["seconds"]:
            continue
        label = str(row["app_servers"]) if row["batch"] == report.DEPLOY_DEFAULT_BATCH else f"{row['app_servers']}, {row['batch']}"
        series[label] = {part: row["parts"].get(part) or 0.0 for part in deploy_time.PARTS} if row["parts"] else {WALL: row["seconds"]}
    return series


def _pyplot() -> t.Any:
    """matplotlib's pyplot on the file-only Agg backend, or None: matplotlib is optional."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    return plt


def _save(plt: t.Any, figure: t.Any, path: pathlib.Path) -> bool:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def _served(plt: t.Any, record: dict[str, t.Any], path: pathlib.Path) -> bool:
    series = served_series(record)
    if not series:
        return False
    counts = sorted({servers for values in series.values() for servers in values})
    figure, axes = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series.items()):  # proxy then direct, per worker class
        positions = [counts.index(servers) + index * width - 0.4 + width / 2 for servers in values]
        axes.bar(positions, list(values.values()), width, label=name)
    axes.set_xticks(range(len(counts)), [str(servers) for servers in counts])
    axes.set_xlabel(f"app servers (each capped at {(record.get('settings') or {}).get('cpus', '?')} CPU)")
    axes.set_ylabel("requests/s (median)")
    axes.set_title(report.PLOT_TITLES["served"])
    axes.legend()
    return _save(plt, figure, path)


def _playbook(plt: t.Any, record: dict[str, t.Any], path: pathlib.Path) -> bool:
    bars, scale = playbook_series(record)
    if not bars and not scale:
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    left.bar(list(bars), list(bars.values()), color=["#888888", "#1f77b4", "#2ca02c"][:len(bars)])
    left.set_ylabel("seconds (median)")
    left.set_title("2 app servers")
    right.plot(list(scale), list(scale.values()), marker="o")
    right.set_xticks(list(scale))
    right.set_xlabel("app servers")
    right.set_ylabel("no-change run, seconds (median)")
    right.set_ylim(bottom=0)
    right.set_title("no-change run by app servers")
    figure.suptitle(report.PLOT_TITLES["playbook"])
    return _save(plt, figure, path)


def _deploy(plt: t.Any, record: dict[str, t.Any], path: pathlib.Path) -> bool:
    series = deploy_series(record)
    if not series:
        return False
    figure, axes = plt.subplots(figsize=(6, 4))
    labels = list(series)
    bottoms = [0.0] * len(labels)
    for part in (*deploy_time.PARTS, WALL):  # stacked: drain, container + health, rest
        heights = [values.get(part, 0.0) for values in series.values()]
        if any(heights):
            axes.bar(labels, heights, bottom=bottoms, label=deploy_time.PART_TITLES.get(part, part))
            bottoms = [bottom + height for bottom, height in zip(bottoms, heights)]
    axes.set_xlabel("app servers (, batch; otherwise batches of one)")
    axes.set_ylabel("seconds (median run)")
    axes.set_title(report.PLOT_TITLES["deploy"])
    axes.legend()
    return _save(plt, figure, path)


DRAWERS = {"served": _served, "playbook": _playbook, "deploy": _deploy}


def draw(results: dict[str, t.Any], directory: pathlib.Path) -> tuple[dict[str, pathlib.Path], str | None]:
    """Draw a PNG per measured benchmark into ``directory``: ({benchmark: path}, a note when none could be)."""
    plt = _pyplot()
    if plt is None:
        return {}, NO_MATPLOTLIB
    directory.mkdir(parents=True, exist_ok=True)
    drawn = {}
    for name, drawer in DRAWERS.items():
        record = results.get("benchmarks", {}).get(name)
        if not record or record.get("status") != "measured":
            continue
        path = directory / f"{name}.png"
        if drawer(plt, record, path):
            drawn[name] = path
    return drawn, None

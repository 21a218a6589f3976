# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Django's deployment checks of a release, judged: warnings and worse stop a production release
unless accepted by id; each finding is reported with its id, level and plain words."""

from __future__ import annotations

import json

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _deploy_check


def _output(*items: dict, done: bool = True) -> str:
    lines = ["Some app logging on start"] + ["djangoops-check: " + json.dumps(item) for item in items]
    return "\n".join(lines + (["djangoops: deploy checks done"] if done else []))


DEBUG_ON = {"id": "security.W018", "level": 30, "msg": "You should not have DEBUG set to True in deployment.",
            "hint": "", "obj": "?"}
MODEL_ERROR = {"id": "fields.E300", "level": 40, "msg": "Field defines a relation with model 'Missing'.",
               "hint": "Ensure the model is installed.", "obj": "polls.Choice.question"}
INFO = {"id": "myapp.I001", "level": 20, "msg": "Using the default cache.", "hint": "", "obj": "?"}


def test_a_clean_release_has_nothing_to_report() -> None:
    assert _deploy_check.judge(_output(), []) == {"blocking": [], "accepted": [], "notes": [], "report": []}


def test_debug_on_blocks_in_plain_words() -> None:
    judged = _deploy_check.judge(_output(DEBUG_ON), [])
    assert judged["blocking"] == ["security.W018"]
    assert judged["report"][0].startswith("security.W018 (warning): DEBUG is on in this release")
    assert "reads the string 'False' as true" in judged["report"][0]


def test_a_finding_accepted_by_id_does_not_block() -> None:
    judged = _deploy_check.judge(_output(DEBUG_ON, MODEL_ERROR), ["security.W018"])
    assert judged["blocking"] == ["fields.E300"]
    assert judged["accepted"] == ["security.W018"]
    assert judged["report"][0].endswith("[accepted in django_app_check_deploy_ignore]")


def test_unknown_findings_keep_django_s_words_object_and_hint() -> None:
    report = _deploy_check.judge(_output(MODEL_ERROR), [])["report"][0]
    assert report == ("fields.E300 (error, polls.Choice.question): Field defines a relation with model 'Missing'."
                      " Hint: Ensure the model is installed.")


def test_infos_are_notes_and_never_block() -> None:
    judged = _deploy_check.judge(_output(INFO), [])
    assert judged["blocking"] == [] and judged["notes"] == ["myapp.I001"]


def test_accepting_one_id_accepts_only_that_id() -> None:
    other = dict(DEBUG_ON, id="security.W012", msg="SESSION_COOKIE_SECURE is not set to True.")
    assert _deploy_check.judge(_output(DEBUG_ON, other), ["security.W018"])["blocking"] == ["security.W012"]


@pytest.mark.parametrize("output", ["", "Traceback (most recent call last):\n ImproperlyConfigured: x",
                                    _output(DEBUG_ON, done=False)])
def test_checks_that_did_not_finish_are_an_error(output: str) -> None:
    with pytest.raises(ValueError, match="did not finish"):
        _deploy_check.judge(output, [])

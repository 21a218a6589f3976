# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/ansible_output.py: the PLAY RECAP and the profile_tasks summary of a run.

The sample is the end of a site.yml run with the default stdout callback and
ansible.posix.profile_tasks; its TASKS RECAP lines follow the callback's own format,
``"{0:-<{2}}{1:->9}".format(name + ' ', ' {0:.02f}s'.format(elapsed), columns - 9)`` with the 79
columns Ansible uses when not on a terminal.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import ansible_output  # pylint: disable=wrong-import-position

END_OF_RUN = """\
TASK [djangoops.fleet.ufw_docker : Ensure UFW is enabled] **********************
Monday 02 March 2026  10:01:01 +0000 (0:00:00.840)       0:01:01.833 **********
ok: [app1]
ok: [app2]

PLAY RECAP *********************************************************************
app1                       : ok=41   changed=0    unreachable=0    failed=0    skipped=19   rescued=0    ignored=0
app2                       : ok=38   changed=2    unreachable=0    failed=0    skipped=19   rescued=0    ignored=0
localhost                  : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
proxy1                     : ok=60   changed=0    unreachable=0    failed=1    skipped=22   rescued=0    ignored=0
proxy2                     : ok=52   changed=0    unreachable=1    failed=0    skipped=22   rescued=0    ignored=0

TASKS RECAP ********************************************************************
Monday 02 March 2026  10:01:02 +0000 (0:00:00.512)       0:01:02.345 **********
===============================================================================
djangoops.fleet.django_app : Replace the app container, drained from the proxies -- 31.42s
djangoops.fleet.certbot : Ensure the certificate exists (staging first, then production) -- 18.07s
djangoops.fleet.django_app : Pull the release image -------------------- 12.50s
Ask the Docker engine for its version ----------------------------------- 2.10s
djangoops.fleet.nginx_proxy : Test the candidate configuration - nginx -t --- 1.96s
Gathering Facts --------------------------------------------------------- 0.99s
A very slow task ----------------------------------------------------- 1234.56s
"""


def test_recap_counts_per_host():
    recap = ansible_output.parse_recap(END_OF_RUN)
    assert sorted(recap) == ["app1", "app2", "localhost", "proxy1", "proxy2"]
    assert recap["app2"] == {"ok": 38, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 19, "rescued": 0, "ignored": 0}


def test_changed_and_failed_hosts():
    recap = ansible_output.parse_recap(END_OF_RUN)
    assert ansible_output.changed_hosts(recap) == ["app2"]
    assert ansible_output.failed_hosts(recap) == ["proxy1", "proxy2"]


def test_the_last_recap_counts():
    earlier = "PLAY RECAP ****\napp1                       : ok=1    changed=1    unreachable=0    failed=0\n\n"
    assert ansible_output.parse_recap(earlier + END_OF_RUN)["app1"]["changed"] == 0


def test_coloured_output_is_read_too():
    coloured = "PLAY RECAP ***\n\x1b[0;33mapp1\x1b[0m                       : \x1b[0;32mok=3   \x1b[0m \x1b[0;33mchanged=1   \x1b[0m\n"
    assert ansible_output.parse_recap(coloured) == {"app1": {"ok": 3, "changed": 1}}


def test_no_recap():
    assert not ansible_output.parse_recap("ERROR! the playbook: playbooks/site.yml could not be found\n")


def test_profile_tasks_summary():
    tasks = ansible_output.parse_profile_tasks(END_OF_RUN)
    assert tasks == [
        ("djangoops.fleet.django_app : Replace the app container, drained from the proxies", 31.42),
        ("djangoops.fleet.certbot : Ensure the certificate exists (staging first, then production)", 18.07),
        ("djangoops.fleet.django_app : Pull the release image", 12.50),
        ("Ask the Docker engine for its version", 2.10),
        # A dash inside a task name is part of the name.
        ("djangoops.fleet.nginx_proxy : Test the candidate configuration - nginx -t", 1.96),
        ("Gathering Facts", 0.99),
        ("A very slow task", 1234.56),
    ]


def test_task_paths_at_higher_verbosity_are_skipped():
    verbose = END_OF_RUN.replace(
        "Gathering Facts --------------------------------------------------------- 0.99s\n",
        "Gathering Facts --------------------------------------------------------- 0.99s\n"
        "/work/main/playbooks/site.yml:27 ---------------------------------------------\n",
    )
    assert ("Gathering Facts", 0.99) in ansible_output.parse_profile_tasks(verbose)
    assert len(ansible_output.parse_profile_tasks(verbose)) == 7


def test_a_run_without_the_callback_has_no_timings():
    assert not ansible_output.parse_profile_tasks(END_OF_RUN.split("TASKS RECAP", maxsplit=1)[0])


@pytest.mark.parametrize("count", [1, 3, 10])
def test_slowest_first(count):
    slowest = ansible_output.slowest(ansible_output.parse_profile_tasks(END_OF_RUN), count)
    expected = [1234.56, 31.42, 18.07, 12.50, 2.10, 1.96, 0.99][:count]
    assert [seconds for _name, seconds in slowest] == expected


def test_last_lines():
    assert ansible_output.last_lines("a\nb\nc\n\n", 2) == "b\nc"


def test_task_starts_count_profile_tasks_timestamp_lines():
    # Two task starts (one each batch of the same task), then the recap's own timestamp line, not counted.
    run = """\
TASK [djangoops.fleet.nginx_proxy : Let the requests in flight finish] *********
Monday 02 March 2026  10:00:01 +0000 (0:00:00.512)       0:00:01.512 **********
ok: [app1]

TASK [djangoops.fleet.nginx_proxy : Let the requests in flight finish] *********
Monday 02 March 2026  10:00:04 +0000 (0:00:02.301)       0:00:03.813 **********
ok: [app2]

""" + END_OF_RUN[END_OF_RUN.index("PLAY RECAP"):]
    assert ansible_output.task_starts(run) == 2
    assert ansible_output.task_starts(END_OF_RUN) == 1
    assert ansible_output.task_starts("PLAY RECAP ***\n") == 0

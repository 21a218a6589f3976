"""The app's processes besides the web (django_app_processes) on the grown second site (own_site.py), in the
second lane: Celery workers on every app server and a singleton scheduler (celery beat), from the release image,
with the lab's Redis (Debian's package) as broker. Workers run a task queued through the web, before and after a
deploy; a deploy stops a worker only once the task it runs is done; a rollback returns them with the web; the
scheduler runs on exactly one server, and moves when that server leaves the app servers' group (still a proxy),
then when the next one leaves the inventory altogether; a kind whose command fails stops the deploy with its
output; kinds removed from the list leave no container behind."""

from __future__ import annotations

import json
import time

import pytest

from conftest import Client, lab_from, run_playbook, server
from own_site import GROWN_APPS, GROWN_PROXY, SITE, DATABASE, SOLO

pytestmark = pytest.mark.changes_lab

GRACE = 60
PROCESSES = {
    "django_app_processes": [
        {"name": "worker", "command": "celery -A mysite worker -l info --concurrency 2", "stop_grace_period": GRACE,
         "healthcheck": "celery -A mysite inspect ping -t 5 -d celery@$HOSTNAME", "memory": "384m"},
        {"name": "beat", "command": ["celery", "-A", "mysite", "beat", "-l", "info", "-s", "/tmp/celerybeat-schedule"],
         "singleton": True, "stop_grace_period": 10, "start_seconds": 4},
    ],
    # The broker's password is a secret: in the env file, masked, never logged.
    "django_app_secret_env": {"CELERY_BROKER_URL": "redis://:{{ lab_redis_password }}@{{ lab_redis_address }}:6379/1"},
    "django_app_extra_env": {"CELERY_HEARTBEAT_SECONDS": "2"},
}
HEARTBEAT = "djangoops:heartbeat:"
NOW = time.time


def _containers(name: str) -> dict[str, str]:
    """The process containers on a lab server (a removed one has none): name -> image."""
    listed = server(name).run("docker ps -a --filter label=djangoops.fleet.app=polls --format '{{.Names}} {{.Image}} {{.State}}'")
    if listed.rc != 0:
        return {}
    found = {}
    for line in listed.stdout.splitlines():
        container, image, state = line.split()
        assert state == "running", f"{name}: {line}"
        found[container] = image
    return found


def _everywhere(servers) -> dict[str, dict[str, str]]:
    return {new.name: _containers(new.name) for new in servers}


def _redis(*args: str) -> str:
    """redis-cli in the lab's Redis container, database 1 (the second site's)."""
    password = server("redis").check_output("printenv LAB_REDIS_PASSWORD")
    return server("redis").check_output("REDISCLI_AUTH=%s redis-cli -n 1 " + " ".join(["%s"] * len(args)), password, *args)


def _heartbeats() -> dict[str, float]:
    """When each scheduler host last sent the heartbeat the workers recorded."""
    keys = [key for key in _redis("--scan", "--pattern", HEARTBEAT + "*").split() if key]
    return {key[len(HEARTBEAT):]: float(_redis("GET", key).split()[0]) for key in keys}


def _scheduler_alone_on(host: str) -> None:
    """The newest heartbeats come from ``host``'s scheduler only: another one's stop growing."""
    time.sleep(7)  # three heartbeats at most, at 2 s
    first = _heartbeats()
    time.sleep(5)
    second = _heartbeats()
    moved = {name for name in second if second[name] > first.get(name, 0)}
    assert moved == {f"{host}-beat-1"}, (first, second)


class Tasks:
    """Tasks queued through the site's web (POST /tasks/echo/ on a proxy) and their results."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def queue(self, tag: str, seconds: float = 0) -> str:
        answer = self.client.curl(f"https://{SITE}/tasks/echo/", "-d", f"tag={tag}", "-d", f"seconds={seconds}")
        assert answer.rc == 0 and '"id"' in answer.stdout, answer.stdout + answer.stderr
        return json.loads(answer.stdout)["id"]

    def result(self, task: str, timeout: float = 60) -> dict:
        deadline = NOW() + timeout
        while True:
            answer = json.loads(self.client.curl(f"https://{SITE}/tasks/{task}/").stdout)
            if answer["ready"] or NOW() > deadline:
                return answer
            time.sleep(1)


@pytest.fixture(scope="module")
def working(site, small_site):
    """The grown site with workers and a scheduler, deployed; its inventory without them again at the end."""
    release = site.all_vars["lab_app_version"]
    inventories = small_site.write([SOLO, *GROWN_APPS], [SOLO, GROWN_PROXY], release, PROCESSES)
    deployed = run_playbook("playbooks/deploy.yml", inventories=inventories)
    assert deployed.returncode == 0, deployed.stdout[-8000:] + deployed.stderr
    yield lab_from(inventories, domain=SITE, database=DATABASE)
    small_site.write([SOLO, *GROWN_APPS], [SOLO, GROWN_PROXY], release)


@pytest.fixture(scope="module")
def tasks(working) -> Tasks:
    return Tasks(Client(working))


def _task_output(output: str, task: str) -> str:
    """What a task of django_app printed, up to the next banner."""
    start = output.index(f"TASK [djangoops.fleet.django_app : {task}]")
    end = output.find("\nTASK [", start + 1)
    return output[start:end if end > 0 else None]


def _release_of(name: str) -> str:
    return server(name).check_output("docker inspect --format '{{.Config.Image}}' polls").rsplit(":", 1)[1]


def test_workers_on_every_app_server_and_one_scheduler_run_the_release_with_no_port(working, tasks):
    release = _release_of(SOLO.name)
    running = _everywhere([SOLO, *GROWN_APPS, GROWN_PROXY])
    image = server(SOLO.name).check_output("docker inspect --format '{{.Config.Image}}' polls")
    assert running == {SOLO.name: {"polls-worker-1": image, "polls-beat-1": image},
                       GROWN_APPS[0].name: {"polls-worker-1": image}, GROWN_APPS[1].name: {"polls-worker-1": image},
                       GROWN_PROXY.name: {}}, running
    for new in (SOLO, *GROWN_APPS):
        inspected = json.loads(server(new.name).check_output("docker inspect polls-worker-1"))[0]
        # The image's EXPOSE shows, bound to no host port.
        assert inspected["HostConfig"]["PortBindings"] in ({}, None), inspected["HostConfig"]["PortBindings"]
        assert all(binding is None for binding in (inspected["NetworkSettings"]["Ports"] or {}).values()), inspected["NetworkSettings"]

        assert inspected["Config"]["StopSignal"] == "SIGTERM" and inspected["Config"]["StopTimeout"] == GRACE
        assert inspected["Config"]["Hostname"] == f"{new.name}-worker-1"
        assert inspected["State"]["Health"]["Status"] in ("starting", "healthy")
        # The broker's password is in the 0600 env file only, as the other secrets.
        assert working.secret("redis_password") not in " ".join(inspected["Config"]["Cmd"] + list(inspected["Config"]["Labels"].values()))
    done = tasks.result(tasks.queue("before"))
    assert done["state"] == "SUCCESS", done
    assert done["result"]["tag"] == "before" and done["result"]["release"] == release, done
    assert done["result"]["worker"].removesuffix("-worker-1") in working.app_servers, done
    _scheduler_alone_on(SOLO.name)
    # Deployed again, unchanged: no process container is touched and the record stays.
    again = run_playbook("playbooks/deploy.yml", inventories=working.inventories)
    assert again.returncode == 0, again.stdout[-8000:] + again.stderr
    for task in ("Stop and remove the process containers this server no longer runs",
                 "Ensure each process container runs the release image and settings",
                 "Record where the process containers run"):
        assert "changed: [" not in _task_output(again.stdout, task), _task_output(again.stdout, task)


def test_a_deploy_lets_a_running_task_finish_and_the_workers_then_run_the_new_release(working, tasks, site):
    before = _release_of(SOLO.name)
    after = "1.1.1" if before != "1.1.1" else "1.1.0"
    from conftest import StartedPlaybook

    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={after}", "-e", "django_app_collectstatic=false",
                             inventories=working.inventories)
    # Queued once the web runs the new release and the processes are next: a worker is busy with it when the
    # play stops the workers.
    deploy.wait_until("PLAY [Release | run the processes besides the web]", timeout=900)
    long_task = tasks.queue("long", 25)
    finished = deploy.wait(timeout=900)
    assert finished.returncode == 0, finished.stdout[-8000:] + finished.stderr
    done = tasks.result(long_task, timeout=GRACE)
    assert done["state"] == "SUCCESS" and done["result"]["release"] == before, done
    # The container that ran it was replaced only after the task was done.
    ran_on = done["result"]["worker"].removesuffix("-worker-1")
    started = server(ran_on).check_output("docker inspect --format '{{.State.StartedAt}}' polls-worker-1")
    assert started[:19] >= done["done"][:19], (started, done)
    for new in (SOLO, *GROWN_APPS):
        assert all(image.endswith(f":{after}") for image in _containers(new.name).values()), _containers(new.name)
    fresh = tasks.result(tasks.queue("after"))
    assert fresh["state"] == "SUCCESS" and fresh["result"]["release"] == after, fresh
    _scheduler_alone_on(SOLO.name)


def test_a_rollback_returns_the_workers_and_the_scheduler_with_the_web(working, tasks):
    after = _release_of(SOLO.name)
    rolled = run_playbook("playbooks/rollback.yml", inventories=working.inventories)
    assert rolled.returncode == 0, rolled.stdout[-8000:] + rolled.stderr
    before = _release_of(SOLO.name)
    assert before != after
    for new in (SOLO, *GROWN_APPS):
        running = _containers(new.name)
        assert running and all(image.endswith(f":{before}") for image in running.values()), (new.name, running)
    done = tasks.result(tasks.queue("rolled back"))
    assert done["state"] == "SUCCESS" and done["result"]["release"] == before, done
    _scheduler_alone_on(SOLO.name)


def test_the_scheduler_moves_when_its_server_leaves_the_group_then_the_inventory(working, tasks, small_site):
    release = _release_of(GROWN_APPS[0].name)
    # solo stays a proxy, no longer an app server: its worker and scheduler stop, the scheduler moves to solo-app2.
    inventories = small_site.write(GROWN_APPS, [SOLO, GROWN_PROXY], release, PROCESSES)
    moved = run_playbook("playbooks/deploy.yml", inventories=inventories)
    assert moved.returncode == 0, moved.stdout[-8000:] + moved.stderr
    running = _everywhere([SOLO, *GROWN_APPS])
    assert running[SOLO.name] == {} and set(running[GROWN_APPS[0].name]) == {"polls-worker-1", "polls-beat-1"}, running
    assert set(running[GROWN_APPS[1].name]) == {"polls-worker-1"}, running
    _scheduler_alone_on(GROWN_APPS[0].name)
    # solo-app2 leaves the inventory altogether: reached as recorded, its containers stop; solo-app3 schedules.
    inventories = small_site.write(GROWN_APPS[1:], [SOLO, GROWN_PROXY], release, PROCESSES)
    moved = run_playbook("playbooks/deploy.yml", inventories=inventories)
    assert moved.returncode == 0, moved.stdout[-8000:] + moved.stderr
    running = _everywhere([SOLO, *GROWN_APPS])
    assert running == {SOLO.name: {}, GROWN_APPS[0].name: {},
                       GROWN_APPS[1].name: {"polls-worker-1": running[GROWN_APPS[1].name]["polls-worker-1"],
                                            "polls-beat-1": running[GROWN_APPS[1].name]["polls-worker-1"]}}, running
    _scheduler_alone_on(GROWN_APPS[1].name)
    done = tasks.result(tasks.queue("moved"))
    assert done["state"] == "SUCCESS" and done["result"]["worker"] == f"{GROWN_APPS[1].name}-worker-1", done


def test_a_kind_whose_command_fails_stops_the_deploy_with_its_output(working, small_site):
    release = _release_of(GROWN_APPS[1].name)
    typo = {"name": "typo", "command": "celery -A nosuchproject worker", "start_seconds": 4}
    settings = dict(PROCESSES, django_app_processes=[*PROCESSES["django_app_processes"], typo])
    inventories = small_site.write([SOLO, *GROWN_APPS], [SOLO, GROWN_PROXY], release, settings)
    failed = run_playbook("playbooks/deploy.yml", inventories=inventories)
    said = " ".join((failed.stdout + failed.stderr).split())
    assert failed.returncode != 0, said[-3000:]
    assert "polls-typo-1 of" in said and "stopped or restarted after its start" in said, said[-3000:]
    assert "nosuchproject" in said, said[-3000:]  # its own output, which names the module it could not load


def test_with_the_kinds_gone_from_the_inventory_no_process_container_is_left(working, small_site):
    release = _release_of(GROWN_APPS[1].name)
    inventories = small_site.write([SOLO, *GROWN_APPS], [SOLO, GROWN_PROXY], release)
    removed = run_playbook("playbooks/deploy.yml", inventories=inventories)
    assert removed.returncode == 0, removed.stdout[-8000:] + removed.stderr
    assert _everywhere([SOLO, *GROWN_APPS]) == {SOLO.name: {}, GROWN_APPS[0].name: {}, GROWN_APPS[1].name: {}}
    # Nothing is recorded where nothing runs, and nothing is left to stop on a second run.
    for new in (SOLO, *GROWN_APPS):
        record = json.loads(server(new.name).check_output("cat /etc/djangoops/polls/processes.json"))
        assert record["hosts"] == [] and record["singletons"] == {}, record

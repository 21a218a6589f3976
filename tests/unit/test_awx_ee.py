# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AWX / Automation Controller and execution environment (EE) artefacts.

- ``examples/awx/credential_types/*.yml``: custom credential types whose ``extra_vars`` injectors
  feed the roles' secret variables, so no secret lives in a job template.
- ``examples/awx/job_templates/*.yml``: job templates that ask nothing at launch.
- ``meta/execution-environment.yml`` + ``meta/ee-*.txt``: what the collection needs in an EE.
- ``execution-environment.yml`` + ``ee/requirements.yml``: the ansible-builder 3 definition.
- ``examples/awx/load.yml``: hands each definition to its awx.awx module (run here against a stub).

Every YAML is checked against what reads it: awx.awx's module documentation (from the installed
``ansible`` bundle), AWX's own JSON schema for credential types, the roles' argument specs, and
ansible-builder itself when it is installed.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import typing as t

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.plugin_docs import read_docstring
from ansible.plugins.loader import module_loader
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
AWX_DIR = CHECKOUT / "examples" / "awx"
CREDENTIAL_TYPE_FILES = sorted((AWX_DIR / "credential_types").glob("*.yml"))
JOB_TEMPLATE_FILES = sorted((AWX_DIR / "job_templates").glob("*.yml"))
ROLE_SPEC_FILES = sorted(CHECKOUT.glob("roles/*/meta/argument_specs.yml"))
EE_FILE = CHECKOUT / "execution-environment.yml"
META_EE_FILE = CHECKOUT / "meta" / "execution-environment.yml"

# Credential types AWX ships; a job template may attach credentials of these besides ours.
BUILTIN_CREDENTIAL_TYPES = {"Machine"}
# Job templates and the playbook each runs.
EXISTING_PLAYBOOKS = {
    "site.yml": "playbooks/site.yml", "renew.yml": "playbooks/renew.yml",
    "deploy.yml": "playbooks/deploy.yml", "rollback.yml": "playbooks/rollback.yml",
    "manage.yml": "playbooks/manage.yml", "maintenance.yml": "playbooks/maintenance.yml",
}
SECRET_LOOKING = re.compile(r"secret|passw|token|private_key|access_key|api_key|credential", re.IGNORECASE)
# Plugin types that run inside the EE (the controller); modules run on the managed hosts.
CONTROLLER_PLUGIN_DIRS = ("action", "filter", "lookup", "test", "callback", "inventory", "vars", "connection", "become")

# AWX's schema for CredentialType.inputs and .injectors, transcribed from ansible/awx
# awx/main/fields.py (CredentialTypeInputField.schema, CredentialTypeInjectorField.schema).
AWX_INPUTS_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["string", "boolean"]},
                    "format": {"enum": ["ssh_private_key", "url"]},
                    "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                    "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                    "label": {"type": "string"},
                    "help_text": {"type": "string"},
                    "multiline": {"type": "boolean"},
                    "secret": {"type": "boolean"},
                    "ask_at_runtime": {"type": "boolean"},
                    "default": {},
                },
                "additionalProperties": False,
                "required": ["id", "label"],
            },
        },
    },
}
AWX_INJECTORS_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "object",
            "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
            "additionalProperties": False,
        },
        "env": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7f]*$"}},
            "additionalProperties": False,
        },
        # Strings, or (AWX 21.10 and later, ansible/awx#13267) lists and dicts of them, rendered leaf by leaf.
        "extra_vars": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"$ref": "#/definitions/injected"}},
            "additionalProperties": False,
        },
    },
    "definitions": {
        "injected": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/definitions/injected"}},
                {"type": "object", "additionalProperties": {"$ref": "#/definitions/injected"}},
            ],
        },
    },
}
# AWX renders injector templates in this environment (awx/main/models/credential.py).
AWX_JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined)


def _load(path: pathlib.Path) -> t.Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _ids(paths: list[pathlib.Path]) -> list[str]:
    return [path.name for path in paths]


def _role_options() -> dict[str, dict[str, t.Any]]:
    """Every option of every role's ``main`` entry point, keyed by variable name."""
    options: dict[str, dict[str, t.Any]] = {}
    for spec_file in ROLE_SPEC_FILES:
        options.update(_load(spec_file)["argument_specs"]["main"]["options"])
    return options


def _entry_point_options() -> dict[str, dict[str, t.Any]]:
    """Every option of every entry point of every role, keyed by variable name."""
    options: dict[str, dict[str, t.Any]] = {}
    for spec_file in ROLE_SPEC_FILES:
        for entry_point in _load(spec_file)["argument_specs"].values():
            options.update(entry_point.get("options", {}))
    return options


def _django_app_options() -> dict[str, dict[str, t.Any]]:
    return _load(CHECKOUT / "roles/django_app/meta/argument_specs.yml")["argument_specs"]["main"]["options"]


def _no_log_options() -> set[str]:
    return {name for name, option in _role_options().items() if option.get("no_log")}


def _injected(credential_type: dict[str, t.Any]) -> dict[str, t.Any]:
    """The extra_vars injector: each variable's template, or a list or dict of templates."""
    return credential_type.get("injectors", {}).get("extra_vars", {})


def _leaves(value: t.Any, path: tuple[str, ...] = ()) -> t.Iterator[tuple[tuple[str, ...], str]]:
    """Each template of an injected value with its path in it: a dict key, or '[]' for a list item."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, (*path, "[]"))
    else:
        yield path, value


def _render(value: t.Any, namespace: dict[str, str]) -> t.Any:
    """An injected value as AWX renders it: every string template, in lists and dicts too."""
    if isinstance(value, dict):
        return {key: _render(item, namespace) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, namespace) for item in value]
    return AWX_JINJA.from_string(value).render(namespace)  # raises UndefinedError for an unknown field


def _option_at(option: dict[str, t.Any], path: tuple[str, ...]) -> dict[str, t.Any]:
    """The (sub)option of an argument spec option that a path into its value lands on."""
    for step in path:
        if step != "[]":
            option = option.get("options", {}).get(step, {})
    return option


def _validation_spec(option: dict[str, t.Any]) -> dict[str, t.Any]:
    """An argument spec option as ArgumentSpecValidator takes it: no documentation, suboptions kept."""
    spec = {key: value for key, value in option.items() if key in ("type", "elements", "choices", "no_log", "required")}
    if "options" in option:
        spec["options"] = {name: _validation_spec(sub) for name, sub in option["options"].items()}
    return spec


def _fields_used(template: str) -> set[str]:
    return meta.find_undeclared_variables(AWX_JINJA.parse(template))


def _credential_types() -> dict[str, dict[str, t.Any]]:
    return {data["name"]: data for data in map(_load, CREDENTIAL_TYPE_FILES)}


def _credentials() -> dict[str, dict[str, t.Any]]:
    return {credential["name"]: credential for credential in _load(AWX_DIR / "credentials.yml")["credentials"]}


def _awx_module_spec(module: str) -> dict[str, dict[str, t.Any]]:
    """The argument spec of an awx.awx module, from its documentation in the installed bundle."""
    context = module_loader.find_plugin_with_context(f"awx.awx.{module}")
    if not context.resolved:
        # The `ansible` 14 bundle of requirements.txt no longer brings awx.awx; the 12.3 bundle of
        # requirements-oldest.txt does, so `make unit-oldest` (the matrix) runs these checks.
        pytest.skip(f"awx.awx is not installed (requirements-oldest.txt's `ansible` bundle brings it); cannot check {module}")
    doc = read_docstring(str(pathlib.Path(context.plugin_resolved_path).resolve()))["doc"]
    keys = ("type", "elements", "choices", "aliases", "required")
    return {
        name: {key: option[key] for key in keys if option.get(key) is not None}
        for name, option in doc["options"].items()
    }


def _assert_valid_module_params(module: str, params: dict[str, t.Any], source: pathlib.Path) -> None:
    result = ArgumentSpecValidator(_awx_module_spec(module)).validate(params)
    assert (
        not result.error_messages
    ), f"{source.relative_to(CHECKOUT)} is not valid awx.awx.{module} input: {result.error_messages}"


# --- (a) credential types --------------------------------------------------------------------------


def test_credential_types_exist() -> None:
    assert (
        len(CREDENTIAL_TYPE_FILES) >= 4
    ), "examples/awx/credential_types/ should define the secret key, database, S3 and admin types"


@pytest.mark.parametrize("path", CREDENTIAL_TYPE_FILES, ids=_ids(CREDENTIAL_TYPE_FILES))
def test_credential_type_is_valid_for_awx(path: pathlib.Path) -> None:
    # ansible-lint brings jsonschema into the project venv; ansible-test's units venv may lack it.
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema validates against AWX's credential type schema")
    credential_type = _load(path)
    _assert_valid_module_params("credential_type", credential_type, path)
    # AWX allows custom types of kind 'cloud' or 'net'; 'net' is for network devices.
    assert credential_type["kind"] == "cloud", f"{path.name}: make it a 'cloud' credential type"
    jsonschema.validate(credential_type["inputs"], AWX_INPUTS_SCHEMA)
    jsonschema.validate(credential_type["injectors"], AWX_INJECTORS_SCHEMA)

    field_ids = [field["id"] for field in credential_type["inputs"]["fields"]]
    assert len(field_ids) == len(set(field_ids)), f"{path.name}: field ids must be unique"
    assert set(credential_type["inputs"].get("required", [])) <= set(
        field_ids
    ), f"{path.name}: 'required' names an undefined field"
    for field in credential_type["inputs"]["fields"]:
        if "default" in field:
            # AWX rejects a default whose Python type differs from the field type.
            assert isinstance(
                field["default"], bool if field.get("type") == "boolean" else str
            ), f"{path.name}: default of {field['id']}"
    # AWX's own injector check: each template must render with only the defined fields.
    _render(_injected(credential_type), dict.fromkeys(field_ids, "EXAMPLE"))


@pytest.mark.parametrize("path", CREDENTIAL_TYPE_FILES, ids=_ids(CREDENTIAL_TYPE_FILES))
def test_credential_type_injects_only_role_options(path: pathlib.Path) -> None:
    injected = set(_injected(_load(path)))
    assert injected, f"{path.name} injects no extra_vars"
    unknown = injected - set(_role_options())
    assert not unknown, f"{path.name} injects {sorted(unknown)}, which no role's meta/argument_specs.yml defines"


@pytest.mark.parametrize("path", CREDENTIAL_TYPE_FILES, ids=_ids(CREDENTIAL_TYPE_FILES))
def test_credential_type_secrets_map_to_no_log_options(path: pathlib.Path) -> None:
    """Secret fields are injected, and only into no_log options; no_log options only from secret fields.

    A secret field injected nowhere is dead weight; one injected into an option without no_log
    would be printed by the role; a no_log option fed from a non-secret field is shown by AWX.
    """
    credential_type = _load(path)
    secret_fields = {field["id"] for field in credential_type["inputs"]["fields"] if field.get("secret")}
    options = _role_options()
    used: set[str] = set()
    for variable, value in _injected(credential_type).items():
        # A list or dict is checked leaf by leaf against its suboptions (a login's password is no_log).
        for where, template in _leaves(value):
            fields = _fields_used(template)
            used |= fields
            from_secret = bool(fields & secret_fields)
            no_log = bool(_option_at(options.get(variable, {}), where).get("no_log"))
            name = variable + "".join(step if step == "[]" else "." + step for step in where)
            assert from_secret == no_log, (
                f"{path.name}: {name} is {'' if no_log else 'not '}no_log in its role's argument spec "
                f"but is fed from {'a secret' if from_secret else 'no secret'} field ({sorted(fields)})"
            )
    assert secret_fields <= used, f"{path.name}: secret fields {sorted(secret_fields - used)} are injected nowhere"


@pytest.mark.parametrize("path", CREDENTIAL_TYPE_FILES, ids=_ids(CREDENTIAL_TYPE_FILES))
def test_injected_values_pass_the_role_argument_spec(path: pathlib.Path) -> None:
    """AWX injects strings; each must satisfy the option's type (the database port is an int)."""
    credential_type = _load(path)
    inputs = {field["id"]: field.get("default", "x" * 60) for field in credential_type["inputs"]["fields"]}
    rendered = _render(_injected(credential_type), inputs)
    options = _role_options()
    # Variables no role defines fail test_credential_type_injects_only_role_options.
    rendered = {variable: value for variable, value in rendered.items() if variable in options}
    spec = {variable: _validation_spec(options[variable]) for variable in rendered}
    result = ArgumentSpecValidator(spec).validate(rendered)
    assert (
        not result.error_messages
    ), f"{path.name}: injected values fail the role's argument spec: {result.error_messages}"


def test_a_nested_injector_is_checked_against_the_suboptions_it_fills() -> None:
    """The registry login's list: its password lands in a no_log suboption, its other fields in plain ones."""
    registry_type = _credential_types()["djangoops.fleet Container registry"]
    logins = _role_options()["site_registry_logins"]
    leaves = dict(_leaves(_injected(registry_type)["site_registry_logins"]))
    assert leaves == {("[]", "registry"): "{{ registry }}", ("[]", "username"): "{{ username }}",
                      ("[]", "password"): "{{ password }}"}
    assert _option_at(logins, ("[]", "password")).get("no_log") is True
    assert not _option_at(logins, ("[]", "registry")).get("no_log")
    rendered = _render(_injected(registry_type), {"registry": "ghcr.io", "username": "bot", "password": "{{ not templated }}"})
    assert rendered == {"site_registry_logins": [{"registry": "ghcr.io", "username": "bot", "password": "{{ not templated }}"}]}


def test_every_secret_option_is_covered_by_a_credential_type() -> None:
    required_django_secrets = {
        name for name, option in _django_app_options().items() if option.get("no_log") and option.get("required")
    }
    assert required_django_secrets >= {
        "django_app_secret_key",
        "django_app_database_password",
        "django_app_static_secret_key",
    }
    injected = set().union(*(_injected(credential_type) for credential_type in _credential_types().values()))
    assert (
        required_django_secrets <= injected
    ), f"no credential type injects {sorted(required_django_secrets - injected)}"
    # Every other secret too (the admin password is required while an admin user is set).
    assert _no_log_options() <= injected, f"no credential type injects {sorted(_no_log_options() - injected)}"


def test_credentials_name_known_types() -> None:
    path = AWX_DIR / "credentials.yml"
    known_types = set(_credential_types()) | BUILTIN_CREDENTIAL_TYPES
    for credential in _load(path)["credentials"]:
        _assert_valid_module_params("credential", credential, path)
        assert "inputs" not in credential, f"{credential['name']}: inputs (secrets) do not belong in the repository"
        assert (
            credential["credential_type"] in known_types
        ), f"{credential['name']}: unknown type {credential['credential_type']}"


# --- (b) job templates -----------------------------------------------------------------------------


def _roles_applied(playbook: pathlib.Path) -> set[str]:
    """Role names a playbook applies through ``roles:`` or include_role/import_role tasks."""
    roles: set[str] = set()
    for play in _load(playbook):
        for role in play.get("roles", []):
            roles.add(role if isinstance(role, str) else role.get("role", role.get("name")))
        for task in _walk_tasks(play.get("pre_tasks", []) + play.get("tasks", []) + play.get("post_tasks", [])):
            for action in (
                "ansible.builtin.include_role",
                "ansible.builtin.import_role",
                "include_role",
                "import_role",
            ):
                if action in task:
                    name = task[action]["name"]
                    roles.update(task.get("loop", []) if "{{ item }}" in name else [name])
    return roles


def test_job_templates_exist() -> None:
    names = {path.name for path in JOB_TEMPLATE_FILES}
    assert {"site.yml", "deploy.yml", "rollback.yml", "renew.yml", "manage.yml", "maintenance.yml"} <= names


@pytest.mark.parametrize("path", JOB_TEMPLATE_FILES, ids=_ids(JOB_TEMPLATE_FILES))
def test_job_template_is_valid_and_asks_nothing(path: pathlib.Path) -> None:
    template = _load(path)
    _assert_valid_module_params("job_template", template, path)
    asked = sorted(key for key, value in template.items() if key.startswith("ask_") and value)
    assert not asked, f"{path.name} asks at launch: {asked}"
    assert (
        template.get("ask_variables_on_launch") is False
    ), f"{path.name}: set ask_variables_on_launch: false explicitly"
    # A survey may ask only for values that are no secret: options of the roles' entry points, not no_log, not
    # secret-looking, asked as text (never a password field).
    questions = (template.get("survey_spec") or {}).get("spec", [])
    assert bool(template.get("survey_enabled")) == bool(questions), f"{path.name}: survey_enabled and survey_spec disagree"
    options = _entry_point_options()
    for question in questions:
        variable = question["variable"]
        assert variable in options and not options[variable].get("no_log") and not SECRET_LOOKING.search(variable), (
            f"{path.name}: the survey asks for {variable}, which is not a non-secret role option (they would carry passwords)")
        assert question["type"] in ("text", "textarea", "multiplechoice", "integer"), f"{path.name}: {variable} asked as {question['type']}"
    assert (
        template.get("job_slice_count", 1) == 1
    ), f"{path.name}: slicing splits the inventory the preflight play checks"
    secret_keys = [
        key for key in template.get("extra_vars", {}) if SECRET_LOOKING.search(key) or key in _no_log_options()
    ]
    assert (
        not secret_keys
    ), f"{path.name} holds secrets in extra_vars: {secret_keys}; inject them with a credential type"


def test_awx_execution_environment_image_carries_the_collection_version() -> None:
    """The image holds one release of the roles; its tag says which (the project has the playbooks)."""
    image = _load(AWX_DIR / "execution_environment.yml")["image"]
    assert image.endswith(f":{_galaxy_yml()['version']}"), f"{image}: tag the EE image with galaxy.yml's version"


@pytest.mark.parametrize("path", JOB_TEMPLATE_FILES, ids=_ids(JOB_TEMPLATE_FILES))
def test_job_template_uses_the_project_ee(path: pathlib.Path) -> None:
    template = _load(path)
    ee = _load(AWX_DIR / "execution_environment.yml")
    _assert_valid_module_params("execution_environment", ee, AWX_DIR / "execution_environment.yml")
    assert template["execution_environment"] == ee["name"]


@pytest.mark.parametrize("path", JOB_TEMPLATE_FILES, ids=_ids(JOB_TEMPLATE_FILES))
def test_job_template_credentials(path: pathlib.Path) -> None:
    template = _load(path)
    credentials = _credentials()
    unknown = [name for name in template["credentials"] if name not in credentials]
    assert not unknown, f"{path.name} attaches credentials not defined in examples/awx/credentials.yml: {unknown}"
    types = [credentials[name]["credential_type"] for name in template["credentials"]]
    # AWX accepts at most one credential per type on a template.
    assert len(types) == len(set(types)), f"{path.name} attaches two credentials of one type: {types}"
    assert "Machine" in types, f"{path.name} needs an SSH (Machine) credential"


@pytest.mark.parametrize("path", JOB_TEMPLATE_FILES, ids=_ids(JOB_TEMPLATE_FILES))
def test_job_template_playbook_and_its_secrets(path: pathlib.Path) -> None:
    template = _load(path)
    playbook = template["playbook"]
    assert playbook.startswith("playbooks/") and playbook.endswith(".yml"), f"{path.name}: playbooks live in playbooks/"
    playbook_path = CHECKOUT / playbook
    if path.name in EXISTING_PLAYBOOKS:
        assert playbook == EXISTING_PLAYBOOKS[path.name], f"{path.name} must run {EXISTING_PLAYBOOKS[path.name]}"
        assert playbook_path.is_file(), f"{path.name}: {playbook} does not exist"
    elif not playbook_path.is_file():
        pytest.skip(
            f"{playbook} arrives with the issue that adds it (examples/awx/README.md); {path.name} is ready for it"
        )

    if "djangoops.fleet.django_app" not in _roles_applied(playbook_path):
        return
    credentials = _credentials()
    types = _credential_types()
    injected = set().union(
        *(
            _injected(types[credentials[name]["credential_type"]])
            for name in template["credentials"]
            if credentials[name]["credential_type"] in types
        )
    )
    django_secrets = {name for name, option in _django_app_options().items() if option.get("no_log")}
    assert (
        django_secrets <= injected
    ), f"{path.name} runs django_app but no attached credential injects {sorted(django_secrets - injected)}"


# --- the loader (examples/awx/load.yml) -------------------------------------------------------------

# Stands in for an awx.awx module: records the arguments the task was given, after templating.
STUB_ACTION = """
import json
import os

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        with open(os.environ["STUB_AWX_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"module": self._task.action.split(".")[-1], "args": self._task.args}) + "\\n")
        return {"changed": False}
"""
AWX_MODULES = ("credential_type", "credential", "execution_environment", "job_template")


def test_loader_hands_every_definition_to_awx(tmp_path: pathlib.Path, ansible_playbook: pathlib.Path) -> None:
    """Run load.yml against a stub awx.awx and compare what each module gets with the YAML files."""
    stub = tmp_path / "collections" / "ansible_collections" / "awx" / "awx"
    (stub / "plugins" / "action").mkdir(parents=True)
    for module in AWX_MODULES:
        (stub / "plugins" / "action" / f"{module}.py").write_text(STUB_ACTION, encoding="utf-8")
    log = tmp_path / "awx.jsonl"
    (tmp_path / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    credentials = _credentials()
    given = next(
        name for name, credential in credentials.items() if credential["credential_type"] in _credential_types()
    )
    (tmp_path / "inputs.yml").write_text(
        yaml.safe_dump({"awx_credential_inputs": {given: {"password": "not-a-real-one"}}}), encoding="utf-8"
    )
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")},
        "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"),
        "STUB_AWX_LOG": str(log),
    }
    result = subprocess.run(
        [str(ansible_playbook), str(AWX_DIR / "load.yml"), "-e", f"@{tmp_path / 'inputs.yml'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls: dict[str, list[dict[str, t.Any]]] = {module: [] for module in AWX_MODULES}
    for line in log.read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        calls[call["module"]].append(call["args"])

    assert sorted(calls["credential_type"], key=lambda args: args["name"]) == sorted(
        _credential_types().values(), key=lambda args: args["name"]
    )
    assert calls["execution_environment"] == [_load(AWX_DIR / "execution_environment.yml")]
    loaded_templates = [_load(path) for path in JOB_TEMPLATE_FILES if (CHECKOUT / _load(path)["playbook"]).is_file()]
    assert any(template["playbook"] == "playbooks/site.yml" for template in loaded_templates)
    assert sorted(calls["job_template"], key=lambda args: args["name"]) == sorted(
        loaded_templates, key=lambda args: args["name"]
    )
    # Only credentials with values in awx_credential_inputs are written, with exactly those values.
    assert calls["credential"] == [
        {**credentials[given], "inputs": {"password": "not-a-real-one"}, "update_secrets": False},
    ]


# --- (c) nothing prompts ---------------------------------------------------------------------------

PAUSE_ACTIONS = ("ansible.builtin.pause", "ansible.legacy.pause", "pause")


def _walk_tasks(tasks: list[dict[str, t.Any]] | None) -> t.Iterator[dict[str, t.Any]]:
    for task in tasks or []:
        yield task
        for section in ("block", "rescue", "always"):
            yield from _walk_tasks(task.get(section))


def _prompting_tasks(tasks: list[dict[str, t.Any]] | None) -> list[str]:
    """Tasks that wait for a human: pause with a prompt, or pause without seconds/minutes."""
    found = []
    for task in _walk_tasks(tasks):
        for action in PAUSE_ACTIONS:
            if action not in task:
                continue
            args = task[action] if isinstance(task[action], dict) else {}
            if "prompt" in args or not ({"seconds", "minutes"} & set(args)):
                found.append(task.get("name", action))
    return found


def _playbooks() -> list[pathlib.Path]:
    return sorted(CHECKOUT.glob("playbooks/*.yml"))


def _role_task_files() -> list[pathlib.Path]:
    return sorted(CHECKOUT.glob("roles/*/tasks/*.yml")) + sorted(CHECKOUT.glob("roles/*/handlers/*.yml"))


def test_playbooks_never_prompt() -> None:
    playbooks = _playbooks()
    assert playbooks, "no playbooks found"
    for playbook in playbooks:
        for play in _load(playbook):
            assert (
                "vars_prompt" not in play
            ), f"{playbook.relative_to(CHECKOUT)}: play {play.get('name')!r} has vars_prompt"
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                prompting = _prompting_tasks(play.get(section))
                assert not prompting, f"{playbook.relative_to(CHECKOUT)}: {prompting} wait for input"


def test_role_tasks_never_prompt() -> None:
    task_files = _role_task_files()
    assert task_files, "no role task files found"
    for task_file in task_files:
        prompting = _prompting_tasks(_load(task_file))
        assert not prompting, f"{task_file.relative_to(CHECKOUT)}: {prompting} wait for input"


def test_no_vars_prompt_anywhere_in_playbooks_or_roles() -> None:
    """A plain text search, so a prompt hidden in an odd YAML shape is caught too."""
    offenders = [
        str(path.relative_to(CHECKOUT))
        for path in _playbooks() + sorted(CHECKOUT.glob("roles/**/*.yml"))
        if "vars_prompt" in path.read_text(encoding="utf-8")
    ]
    assert not offenders, f"vars_prompt in {offenders}"


def test_prompt_check_catches_a_pause() -> None:
    """The checks above must be able to fail."""
    tasks = [
        {"name": "Ask", "ansible.builtin.pause": {"prompt": "Continue?"}},
        {"block": [{"name": "Wait for enter", "pause": None}]},
        {"name": "Sleep", "ansible.builtin.pause": {"seconds": 5}},
    ]
    assert _prompting_tasks(tasks) == ["Ask", "Wait for enter"]


# --- EE metadata and definition --------------------------------------------------------------------


def _requirement_lines(path: pathlib.Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _meta_ee() -> dict[str, t.Any]:
    return _load(META_EE_FILE)


def _imported_top_level(path: pathlib.Path, seen: set[pathlib.Path]) -> set[str]:
    """Top-level module names imported by ``path`` and the collection module_utils it imports."""
    if path in seen:
        return set()
    seen.add(path)
    names: set[str] = set()
    prefix = "ansible_collections.djangoops.fleet."
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        for module in modules:
            if module.startswith(prefix):
                target = CHECKOUT / (module[len(prefix) :].replace(".", "/") + ".py")
                if target.is_file():
                    names |= _imported_top_level(target, seen)
            else:
                names.add(module.split(".")[0])
    return names


def _third_party_distributions(modules: set[str]) -> set[str]:
    ours = {"ansible", "ansible_collections", "__future__"}
    packages = importlib.metadata.packages_distributions()
    result = set()
    for module in modules - ours - set(sys.stdlib_module_names):
        assert module in packages, f"controller-side plugins import {module}, which no installed distribution provides"
        result.update(name.lower() for name in packages[module])
    return result


def test_collection_ee_metadata_format() -> None:
    data = _meta_ee()
    assert data["version"] == 1, "ansible-builder reads collection metadata in format version 1"
    assert set(data["dependencies"]) == {"python", "system"}
    for key, expected in (("python", "meta/ee-requirements.txt"), ("system", "meta/ee-bindep.txt")):
        relative = data["dependencies"][key]
        assert relative == expected
        # introspect.py refuses absolute paths: they are relative to the collection root.
        assert not pathlib.PurePath(relative).is_absolute() and (CHECKOUT / relative).is_file()


LOOKUPS_USED_BY_ROLES = {"community.general.dig": "dnspython"}


def test_ee_requirements_are_what_controller_plugins_import() -> None:
    lines = _requirement_lines(CHECKOUT / _meta_ee()["dependencies"]["python"])
    requirements = [Requirement(line) for line in lines]
    for requirement in requirements:
        operators = {spec.operator for spec in requirement.specifier}
        assert ">=" in operators and "<" in operators, f"{requirement}: pin with a range (>=tested,<next major)"
    listed = {requirement.name.lower() for requirement in requirements}

    seen: set[pathlib.Path] = set()
    imported: set[str] = set()
    for plugin_dir in CONTROLLER_PLUGIN_DIRS:
        for plugin in sorted((CHECKOUT / "plugins" / plugin_dir).glob("*.py")):
            imported |= _imported_top_level(plugin, seen)
    needed = _third_party_distributions(imported)
    # Other collections' controller-side plugins that the roles call, and the library each needs.
    for plugin, distribution in LOOKUPS_USED_BY_ROLES.items():
        if any(plugin in path.read_text() for path in (CHECKOUT / "roles").rglob("*.yml")):
            needed.add(distribution)
    assert (
        needed == listed
    ), f"meta/ee-requirements.txt lists {sorted(listed)}; controller-side plugins import {sorted(needed)}"


def test_ee_bindep() -> None:
    lines = _requirement_lines(CHECKOUT / _meta_ee()["dependencies"]["system"])
    bindep_line = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]* \[platform:(rpm|dpkg)( [a-z0-9-]+)*\]$")
    for line in lines:
        assert bindep_line.match(
            line
        ), f"meta/ee-bindep.txt: {line!r} needs a [platform:rpm] or [platform:dpkg] selector"
    assert "openssh-clients [platform:rpm]" in lines and "openssh-client [platform:dpkg]" in lines


def _ee() -> dict[str, t.Any]:
    return _load(EE_FILE)


def _galaxy_requirements() -> list[dict[str, t.Any]]:
    return _load(EE_FILE.parent / _ee()["dependencies"]["galaxy"])["collections"]


def _galaxy_yml() -> dict[str, t.Any]:
    return _load(CHECKOUT / "galaxy.yml")


def _tarball_name() -> str:
    galaxy = _galaxy_yml()
    return f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"


def _pinned(requirements_txt: pathlib.Path, name: str) -> str:
    for line in _requirement_lines(requirements_txt):
        requirement = Requirement(line)
        if requirement.name.lower() == name:
            return str(requirement.specifier)
    raise AssertionError(f"{name} is not pinned in {requirements_txt.name}")


def _running_core() -> str:
    return importlib.metadata.version("ansible-core")


def _requires_ansible() -> SpecifierSet:
    return SpecifierSet(_load(CHECKOUT / "meta" / "runtime.yml")["requires_ansible"])


def _skip_unless_default_environment() -> None:
    """The EE follows the default environment (requirements.txt, the newest supported core); the
    matrix's oldest core (requirements-oldest.txt) has other collection versions installed."""
    pinned = _pinned(CHECKOUT / "requirements.txt", "ansible-core")
    if f"=={_running_core()}" != pinned:
        pytest.skip(f"ansible-core {_running_core()} is not the default environment's (requirements.txt: {pinned})")


def test_ee_definition_pins_the_tested_versions() -> None:
    ee = _ee()
    assert ee["version"] == 3
    base_image = ee["images"]["base_image"]["name"]
    assert re.match(
        r"^[a-z0-9.-]+\.[a-z]+/[^:]+:[^:]+$", base_image
    ), f"{base_image}: use a full registry/name:tag reference"
    core = ee["dependencies"]["ansible_core"]["package_pip"]
    assert (
        core == f"ansible-core{_pinned(CHECKOUT / 'requirements.txt', 'ansible-core')}"
    ), "the EE runs the ansible-core the tests use"
    version = re.fullmatch(r"ansible-core==(\d+\.\d+\.\d+)", core)
    assert version, f"{core}: pin one release"
    assert version.group(1) in _requires_ansible(), "the EE's core is one meta/runtime.yml accepts"
    assert re.fullmatch(r"ansible-runner==\d+\.\d+\.\d+", ee["dependencies"]["ansible_runner"]["package_pip"])
    assert ee["dependencies"]["python"] == _meta_ee()["dependencies"]["python"]
    assert ee["dependencies"]["system"] == _meta_ee()["dependencies"]["system"]


def test_requires_ansible_starts_at_the_oldest_tested_core() -> None:
    """meta/runtime.yml accepts both cores the matrix tests and names the oldest as its floor."""
    oldest = _pinned(CHECKOUT / "requirements-oldest.txt", "ansible-core").removeprefix("==")
    newest = _pinned(CHECKOUT / "requirements.txt", "ansible-core").removeprefix("==")
    assert oldest in _requires_ansible() and newest in _requires_ansible()
    major, minor = oldest.split(".")[:2]
    assert str(_requires_ansible()) == f">={major}.{minor}.0", "requires_ansible names the oldest core tested"
    assert _running_core() in (oldest, newest), "this venv runs one of the two tested cores"


def test_ee_galaxy_requirements_install_the_built_collection() -> None:
    _skip_unless_default_environment()
    ee = _ee()
    collection, *others = _galaxy_requirements()
    assert collection["type"] == "file"
    assert pathlib.PurePath(collection["name"]).name == _tarball_name(), "the tarball name follows galaxy.yml's version"
    # additional_build_files puts the tarball where the galaxy stage (cwd: _build) finds it.
    sources = {(pathlib.PurePath(entry["src"]).name, entry["dest"]) for entry in ee["additional_build_files"]}
    assert (_tarball_name(), str(pathlib.PurePath(collection["name"]).parent)) in sources

    dependencies = _galaxy_yml()["dependencies"]
    assert {entry["name"] for entry in others} == set(dependencies), "install exactly galaxy.yml's dependencies"
    for entry in others:
        manifest = _installed_manifest(entry["name"])
        installed = manifest["collection_info"]["version"]
        assert (
            entry["version"] == f"=={installed}"
        ), f"{entry['name']}: pin the version the tests run with ({installed})"
        assert installed in SpecifierSet(
            dependencies[entry["name"]]
        ), f"{entry['name']} {installed} is outside galaxy.yml's range"


def _installed_manifest(fqcn: str) -> dict[str, t.Any]:
    namespace, name = fqcn.split(".")
    spec = importlib.util.find_spec(f"ansible_collections.{namespace}.{name}")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{fqcn} is not installed here (the `ansible` bundles of requirements*.txt bring it)")
    for location in spec.submodule_search_locations:
        manifest = pathlib.Path(location) / "MANIFEST.json"
        if manifest.is_file():
            return yaml.safe_load(manifest.read_text(encoding="utf-8"))
    raise AssertionError(f"{fqcn} has no MANIFEST.json")


@pytest.fixture(scope="module")
def collection_tarball(tmp_path_factory: pytest.TempPathFactory, ansible_galaxy: pathlib.Path) -> pathlib.Path:
    """The collection built with ``ansible-galaxy collection build``, as the EE installs it."""
    output = tmp_path_factory.mktemp("collection-build")
    subprocess.run(
        [str(ansible_galaxy), "collection", "build", "--output-path", str(output), str(CHECKOUT)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = output / _tarball_name()
    assert tarball.is_file()
    return tarball


def test_built_collection_carries_its_ee_metadata(collection_tarball: pathlib.Path) -> None:
    with tarfile.open(collection_tarball) as archive:
        members = set(archive.getnames())
    assert {"meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt"} <= members
    leaked = sorted(member for member in members if member.split("/")[0] in {".lab", ".venv", ".cache", "build"})
    assert not leaked, f"the tarball that goes into the EE image carries {leaked[:5]}"


# --- (d) ansible-builder ---------------------------------------------------------------------------

BUILDER_MISSING = importlib.util.find_spec("ansible_builder") is None
needs_builder = pytest.mark.skipif(
    BUILDER_MISSING,
    reason="ansible-builder is not installed in this venv (tested with ansible-builder==3.2.0; add it to requirements.txt)",
)


def _copy_ee_inputs(destination: pathlib.Path, tarball: pathlib.Path) -> pathlib.Path:
    """Copy execution-environment.yml and the files it names (same layout), plus the built tarball."""
    ee = _ee()
    relative_files = [ee["dependencies"][key] for key in ("galaxy", "python", "system")]
    for relative in relative_files:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CHECKOUT / relative, target)
    for entry in ee["additional_build_files"]:
        target = destination / entry["src"]
        target.parent.mkdir(parents=True, exist_ok=True)
        assert target.name == tarball.name, f"unexpected additional build file {entry['src']}"
        shutil.copy2(tarball, target)
    shutil.copy2(EE_FILE, destination / EE_FILE.name)
    return destination / EE_FILE.name


@needs_builder
def test_ansible_builder_create(tmp_path: pathlib.Path, collection_tarball: pathlib.Path) -> None:
    ee_file = _copy_ee_inputs(tmp_path / "src", collection_tarball)
    context = tmp_path / "context"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ansible_builder",
            "create",
            "-f",
            str(ee_file),
            "--context",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No matches" not in result.stdout + result.stderr, "the tarball did not reach the build context"

    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    ee = _ee()
    assert f'ARG EE_BASE_IMAGE="{ee["images"]["base_image"]["name"]}"' in containerfile
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    refs = f'{ee["dependencies"]["ansible_core"]["package_pip"]} {ee["dependencies"]["ansible_runner"]["package_pip"]}'
    assert f'ARG ANSIBLE_INSTALL_REFS="{refs}"' in containerfile
    assert re.search(r"^RUN .*ansible-galaxy collection install .*-r requirements\.yml", containerfile, re.MULTILINE)
    # The collections' Python and system requirements (ours named explicitly, the rest found by
    # introspection of the installed collections) are resolved and installed by these steps.
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    assert "RUN /output/scripts/assemble" in containerfile
    assert "RUN /output/scripts/install-from-bindep" in containerfile

    build = context / "_build"
    assert (build / "requirements.txt").read_text(encoding="utf-8") == (
        CHECKOUT / "meta/ee-requirements.txt"
    ).read_text(encoding="utf-8")
    assert (build / "bindep.txt").read_text(encoding="utf-8") == (CHECKOUT / "meta/ee-bindep.txt").read_text(
        encoding="utf-8"
    )
    assert _load(build / "requirements.yml") == _load(CHECKOUT / ee["dependencies"]["galaxy"])
    collection_entry = _galaxy_requirements()[0]["name"]
    assert (build / collection_entry).read_bytes() == collection_tarball.read_bytes()


@needs_builder
def test_ansible_builder_introspects_the_built_collection(
    tmp_path: pathlib.Path, collection_tarball: pathlib.Path
) -> None:
    """What ansible-builder installs for djangoops.fleet: its meta/ee-* files, not requirements.txt."""
    collection_dir = tmp_path / "ansible_collections" / "djangoops" / "fleet"
    collection_dir.mkdir(parents=True)
    with tarfile.open(collection_tarball) as archive:
        archive.extractall(collection_dir, filter="data")
    introspect = importlib.resources.files("ansible_builder._target_scripts") / "introspect.py"
    with importlib.resources.as_file(introspect) as script:
        result = subprocess.run(
            [sys.executable, str(script), "introspect", str(tmp_path)], capture_output=True, text=True, check=True
        )
    found = yaml.safe_load(result.stdout)
    suffix = "  # from collection djangoops.fleet"
    assert found["python"] == [line + suffix for line in _requirement_lines(CHECKOUT / "meta/ee-requirements.txt")]
    assert found["system"] == [line + suffix for line in _requirement_lines(CHECKOUT / "meta/ee-bindep.txt")]

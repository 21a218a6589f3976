"""The lab checks' shared template cache (tests/lab/python/djangoops_template_cache.py): a template compiled by
one process is read by the next, and what every template renders to is what Ansible renders without the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAB_PYTHON = Path(__file__).resolve().parents[2] / "tests" / "lab" / "python"

RENDER = r"""
import json, sys
from ansible.template import Templar
from ansible.parsing.dataloader import DataLoader
from ansible._internal._templating._jinja_bits import _TemplateConfig
import jinja2.environment

compiled = []
uncached = jinja2.environment.Environment._compile
def counting(self, source, filename):
    compiled.append(filename)
    return uncached(self, source, filename)
jinja2.environment.Environment._compile = counting

from ansible._internal._datatag._tags import TrustedAsTemplate
templar = Templar(loader=DataLoader(), variables={"name": "polls", "ports": [8000, 8001], "path": "c:\\new"})
templates = json.loads(sys.argv[1])
print(json.dumps({"rendered": [templar.template(TrustedAsTemplate().tag(text)) for text in templates], "compiled": len(compiled)}))
"""

TEMPLATES = [
    "{{ name | upper }}",
    "{{ ports | map('string') | join(',') }}",
    "{% for port in ports %}{{ port }};{% endfor %}",
    "{{ path }} and {{ 'c:\\\\new' }}",
    "#jinja2: variable_start_string: '[%', variable_end_string: '%]'\n[% name %] {{ name }}",
    "plain text",
]


def _render(tmp_path: Path, cache: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(LAB_PYTHON), os.environ.get("PYTHONPATH")])))
    env.pop("DJANGOOPS_LAB_TEMPLATE_CACHE", None)
    if cache:
        env["DJANGOOPS_LAB_TEMPLATE_CACHE"] = str(tmp_path / "cache")
    run = subprocess.run([sys.executable, "-c", RENDER, json.dumps(TEMPLATES)], env=env, capture_output=True, text=True,
                         check=False, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_a_template_is_compiled_once_and_renders_as_without_the_cache(tmp_path):
    without = _render(tmp_path, cache=False)
    first = _render(tmp_path, cache=True)
    entries = sorted(os.listdir(tmp_path / "cache"))
    second = _render(tmp_path, cache=True)

    assert first["rendered"] == without["rendered"] == second["rendered"]
    assert without["rendered"][0] == "POLLS" and without["rendered"][4] == "polls {{ name }}"
    assert first["compiled"] > 0 and len(entries) > 0
    assert second["compiled"] == 0  # every template read from the first process's entries
    assert sorted(os.listdir(tmp_path / "cache")) == entries

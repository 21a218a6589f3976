# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The nginx_proxy role's templates, rendered for real by ``ansible-playbook``.

The role's own tasks need Docker (``nginx -t`` in a throwaway container), so one playbook on
localhost does what ``tasks/config.yml`` does without it: ``include_vars`` loads the role's
``defaults/main.yml`` and ``vars/main.yml`` from this checkout, and ``ansible.builtin.template``
renders every file of ``__nginx_proxy_templates`` from ``roles/nginx_proxy/templates``, once per
case into its own directory. A case's settings are include parameters of an ``include_tasks``:
they outrank ``include_vars`` as extra vars would, but unlike extra vars may differ per case.

The rendered files are parsed loosely (comments dropped, whitespace collapsed, directives and
blocks as a tree) and checked against values written from Mozilla's Server Side TLS guidelines
("intermediate" and "modern", without DHE and without OCSP stapling) and the role's README.
"""

from __future__ import annotations

import atexit
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
ROLE_DIR = CHECKOUT / "roles" / "nginx_proxy"

# The rendering runs once per pytest process and is kept on disk here. `ansible-test units` runs
# every test in a fork of its pytest worker, where a module-scoped fixture is set up anew for each
# test (an ansible-playbook run per test); a directory made at import, before any fork, outlives
# the forks. The process that made it removes it when it exits (forks leave by os._exit).
RENDER_DIR = pathlib.Path(tempfile.mkdtemp(prefix="djangoops-nginx-proxy-templates-"))
atexit.register(shutil.rmtree, RENDER_DIR, ignore_errors=True)

NGINX_FILES = ("nginx.conf", "tls.conf", "conf.d/00-default.conf", "conf.d/05-health.conf", "conf.d/05-limits.conf",
               "conf.d/10-site.conf")
PAGE = "maintenance/page.html"
FILES = (*NGINX_FILES, PAGE)
NAME = "www.example.com"
# Not in sorted order, so "the first name" cannot be met by sorting.
TWO_NAMES = ["www.example.org", "example.org"]

# A user's maintenance page, on the controller; written before the rendering. Jinja in it stays as it is.
USER_PAGE = RENDER_DIR / "our-maintenance.html"
USER_PAGE_TEXT = '<!DOCTYPE html>\n<html><body><h1>Back at {{ five }}</h1><img src="data:image/gif;base64,R0lGOD"></body></html>\n'

# Case name -> include parameters (role variables) for that rendering.
CASES: dict[str, dict[str, t.Any]] = {
    "default": {"nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True},
    "modern": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_tls_profile": "modern",
    },
    "no_tls": {"nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": False},
    "hsts_opt_in": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_hsts_max_age": 63072000,
        "nginx_proxy_hsts_include_subdomains": True,
        "nginx_proxy_hsts_preload": True,
    },
    "ipv6": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_listen_ipv6": True,
    },
    "two_names": {"nginx_proxy_server_names": TWO_NAMES, "__nginx_proxy_tls_enabled": True},
    # Another proxy runs Certbot; not in this inventory, so its name is its address.
    "acme_issuer_elsewhere": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_acme_issuer": "192.0.2.7",
    },
    "acme_issuer_ipv6": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": False,
        "nginx_proxy_acme_issuer": "2001:db8::7",
    },
    # Three proxies: this one and two others (the issuer among them, listed second), asked issuer first.
    "acme_peers": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_acme_issuer": "192.0.2.8",
        "nginx_proxy_acme_peers": ["localhost", "192.0.2.7", "192.0.2.8"],
    },
    "health_port": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True, "nginx_proxy_health_port": 9181,
    },
    "maintenance": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_maintenance_allow": ["192.0.2.10", "198.51.100.0/24", "2001:db8:42::/48"],
        "nginx_proxy_maintenance_retry_after": 120,
        "nginx_proxy_maintenance_page": str(USER_PAGE),
        "nginx_proxy_hsts_include_subdomains": True,
    },
    # Limits: every one off; only the login zone; every value changed, with locations of their own.
    "limits_off": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_limit_req_rate": "", "nginx_proxy_limit_login_rate": "", "nginx_proxy_limit_conn": 0,
    },
    "login_limit_only": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_limit_req_rate": "", "nginx_proxy_limit_conn": 0,
    },
    "no_login_locations": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_limit_login_locations": [],
    },
    "limits_custom": {
        "nginx_proxy_server_names": [NAME], "__nginx_proxy_tls_enabled": True,
        "nginx_proxy_limit_req_rate": "5r/s", "nginx_proxy_limit_req_burst": 12,
        "nginx_proxy_limit_login_rate": "3r/m", "nginx_proxy_limit_login_burst": 0,
        "nginx_proxy_limit_login_locations": ["/admin/login/", "/api/token/"],
        "nginx_proxy_limit_locations": [
            {"path": "/api/", "rate": "50r/s", "burst": 100},
            {"path": "/webhooks/", "rate": ""},
            {"path": "/search/", "rate": "1r/s"},
        ],
        "nginx_proxy_limit_conn": 20, "nginx_proxy_limit_retry_after": 30, "nginx_proxy_limit_zone_size": "1m",
        "nginx_proxy_client_header_timeout": "5s", "nginx_proxy_client_body_timeout": "1m",
        "nginx_proxy_send_timeout": "45s", "nginx_proxy_keepalive_timeout": "0",
        "nginx_proxy_large_client_header_buffers": "8 16k",
        "nginx_proxy_upstream_connect_timeout": "1s", "nginx_proxy_upstream_read_timeout": "2m",
    },
}

# Mozilla "intermediate" (guidelines 5.7) minus the three DHE-RSA suites: ECDHE key exchange,
# AEAD ciphers only, an ECDSA and an RSA variant of each.
INTERMEDIATE_CIPHERS = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}
ACME_LOCATION = ["^~", "/.well-known/acme-challenge/"]

RENDER_TASKS = """\
- name: Create the case directories
  ansible.builtin.file:
    path: "{{ case_dir }}/{{ item }}"
    state: directory
    mode: "0755"
  loop: [conf.d, maintenance]

- name: Render the role's templates
  ansible.builtin.template:
    src: "{{ templates_dir }}/{{ item }}.j2"
    dest: "{{ case_dir }}/{{ item }}"
    mode: "0644"
  loop: "{{ __nginx_proxy_templates }}"
"""


# --- Loose Nginx parser ----------------------------------------------------------------------------

class Directive(t.NamedTuple):
    name: str
    args: list[str]
    block: list[Directive] | None

    def __str__(self) -> str:
        return " ".join([self.name, *self.args])


TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{};]|[^\s{};"\']+')


def _strip_comments(text: str) -> str:
    """Drop ``#`` to end of line, outside quotes."""
    return re.sub(r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|#[^\n]*', lambda m: m.group(1) or "", text)


def _unquote(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'" else token


def parse(text: str) -> list[Directive]:
    """Directives of an Nginx file as a tree; ``block`` is None for simple directives."""
    tokens = TOKEN.findall(" ".join(_strip_comments(text).split()))
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            assert words, "empty directive in:\n%s" % text
            stack[-1].append(Directive(words[0], [_unquote(w) for w in words[1:]], None))
            words = []
        elif token == "{":
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], [_unquote(w) for w in words[1:]], block))
            stack.append(block)
            words = []
        elif token == "}":
            assert not words and len(stack) > 1, "unbalanced braces in:\n%s" % text
            stack.pop()
        else:
            words.append(token)
    assert not words and len(stack) == 1, "unterminated directive or block in:\n%s" % text
    return stack[0]


def find(block: list[Directive], name: str) -> list[Directive]:
    """Directives called ``name`` directly in ``block`` (not nested)."""
    return [d for d in block if d.name == name]


def walk(block: list[Directive]) -> t.Iterator[Directive]:
    """Every directive at any depth."""
    for directive in block:
        yield directive
        if directive.block is not None:
            yield from walk(directive.block)


def args_of(block: list[Directive], name: str) -> list[list[str]]:
    return [d.args for d in find(block, name)]


def only(block: list[Directive], name: str) -> list[str]:
    """Arguments of the one directive ``name`` in ``block``."""
    found = args_of(block, name)
    assert len(found) == 1, "expected one %r, found %r" % (name, found)
    return found[0]


def location(server: list[Directive], *args: str) -> list[Directive]:
    found = [d.block for d in find(server, "location") if d.args == list(args)]
    assert len(found) == 1, "expected one `location %s`, found %r" % (" ".join(args), found)
    return t.cast(list[Directive], found[0])


def headers(block: list[Directive], name: str) -> dict[str, list[str]]:
    """``add_header`` / ``proxy_set_header`` directives as header name -> remaining arguments."""
    result: dict[str, list[str]] = {}
    for args in args_of(block, name):
        assert args[0] not in result, "%s %s set twice" % (name, args[0])
        result[args[0]] = args[1:]
    return result


# --- Rendering -----------------------------------------------------------------------------------

class Rendered(t.NamedTuple):
    raw: dict[str, str]
    tree: dict[str, list[Directive]]

    def servers(self, file: str) -> list[list[Directive]]:
        return [t.cast(list[Directive], d.block) for d in find(self.tree[file], "server")]

    def site(self) -> tuple[list[Directive], list[Directive] | None]:
        """The port-80 and (if any) the 443 server of conf.d/10-site.conf."""
        servers = self.servers("conf.d/10-site.conf")
        http = [s for s in servers if not any("443" in a[0] for a in args_of(s, "listen"))]
        https = [s for s in servers if any("443" in a[0] for a in args_of(s, "listen"))]
        assert len(http) == 1 and len(https) <= 1, servers
        return http[0], (https[0] if https else None)


def _playbook(out: pathlib.Path, render_tasks: pathlib.Path) -> list[dict]:
    tasks: list[dict] = [
        # The role's defaults derive from the site settings, its dependency.
        {"name": "Load the site settings", "ansible.builtin.include_vars": {"file": str(ROLE_DIR.parent / "site" / "defaults" / "main.yml")}},
        {"name": "Load the role's defaults", "ansible.builtin.include_vars": {"file": str(ROLE_DIR / "defaults" / "main.yml")}},
        {"name": "Load the role's vars", "ansible.builtin.include_vars": {"file": str(ROLE_DIR / "vars" / "main.yml")}},
    ]
    for case, variables in CASES.items():
        tasks.append({
            "name": "Render case %s" % case,
            "ansible.builtin.include_tasks": {"file": str(render_tasks)},
            "vars": {**variables, "case_dir": str(out / case), "templates_dir": str(ROLE_DIR / "templates")},
        })
    return [{
        "name": "Render the nginx_proxy templates",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": tasks,
    }]


def _render(tmp: pathlib.Path, out: pathlib.Path, env: dict[str, str], ansible_playbook: pathlib.Path) -> None:
    """Render every case into ``out`` with one ansible-playbook run, and check that run."""
    render_tasks = tmp / "render.yml"
    render_tasks.write_text(RENDER_TASKS)
    USER_PAGE.write_text(USER_PAGE_TEXT, encoding="utf-8")
    playbook = tmp / "playbook.yml"
    playbook.write_text(json.dumps(_playbook(out, render_tasks), indent=2))  # JSON is YAML
    process = subprocess.run(
        [str(ansible_playbook), "-i", "localhost,", str(playbook)],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
    )
    output = process.stdout + process.stderr
    assert process.returncode == 0, output
    assert re.search(r"^localhost\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", output, re.M), output
    for case in CASES:
        for file in FILES:
            assert (out / case / file).is_file(), "%s: %s was not rendered\n%s" % (case, file, output)


@pytest.fixture(scope="module")
def rendered(isolated_ansible_env, ansible_playbook: pathlib.Path) -> dict[str, Rendered]:
    """Case name -> its rendered files, from one ansible-playbook run rendering every case."""
    out = RENDER_DIR / "out"
    done = RENDER_DIR / "rendered"  # made only after a run that passed the checks of _render
    if not done.exists():
        _render(RENDER_DIR, out, isolated_ansible_env(RENDER_DIR), ansible_playbook)
        done.touch()
    result = {}
    for case in CASES:
        raw = {file: (out / case / file).read_text(encoding="utf-8") for file in FILES}
        result[case] = Rendered(raw, {file: parse(raw[file]) for file in NGINX_FILES})
    return result


# --- Tests ---------------------------------------------------------------------------------------

def test_every_listed_template_is_rendered() -> None:
    import yaml

    with (ROLE_DIR / "vars" / "main.yml").open(encoding="utf-8") as handle:
        listed = yaml.safe_load(handle)["__nginx_proxy_templates"]
    assert sorted(listed) == sorted(FILES)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("file", FILES)
def test_starts_with_managed_comment(rendered: dict[str, Rendered], case: str, file: str) -> None:
    first_line = rendered[case].raw[file].splitlines()[0]
    assert first_line.startswith("<!--" if file == PAGE else "#"), first_line


def test_intermediate_tls(rendered: dict[str, Rendered]) -> None:
    tls = rendered["default"].tree["tls.conf"]
    assert only(tls, "ssl_protocols") == ["TLSv1.2", "TLSv1.3"]
    (ciphers,) = only(tls, "ssl_ciphers")
    suites = ciphers.split(":")
    assert len(suites) == len(set(suites)), suites
    for suite in suites:
        # ECDHE key exchange (no plain RSA, no DHE), AEAD only (no CBC).
        assert re.fullmatch(r"ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)", suite), suite
    assert set(suites) == INTERMEDIATE_CIPHERS
    assert only(tls, "ssl_session_tickets") == ["off"]
    assert only(tls, "ssl_session_timeout") == ["1d"]
    assert not [d for d in walk(tls) if d.name.startswith("ssl_stapling")]


def test_modern_tls(rendered: dict[str, Rendered]) -> None:
    tls = rendered["modern"].tree["tls.conf"]
    assert only(tls, "ssl_protocols") == ["TLSv1.3"]
    assert args_of(tls, "ssl_ciphers") == []
    assert only(tls, "ssl_session_tickets") == ["off"]


@pytest.mark.parametrize("case", CASES)
def test_no_ocsp_stapling_anywhere(rendered: dict[str, Rendered], case: str) -> None:
    for file, tree in rendered[case].tree.items():
        assert not [str(d) for d in walk(tree) if d.name.startswith("ssl_stapling")], file


def test_nginx_conf(rendered: dict[str, Rendered]) -> None:
    tree = rendered["default"].tree["nginx.conf"]
    (http,) = [d.block for d in find(tree, "http")]
    assert http is not None
    includes = [args[0] for args in args_of(http, "include")]
    assert "/etc/nginx/djangoops/tls.conf" in includes, includes
    assert "/etc/nginx/djangoops/conf.d/*.conf" in includes, includes
    assert only(http, "server_tokens") == ["off"]
    # TLS settings at http level only: no server of nginx.conf has its own.
    assert not find(http, "server")
    assert not [d for d in walk(tree) if d.name.startswith("ssl_")]


def test_site_with_tls(rendered: dict[str, Rendered]) -> None:
    http, https = rendered["default"].site()
    assert https is not None
    assert args_of(https, "listen") == [["443", "ssl", "http2"]]
    assert only(https, "server_name") == [NAME]
    assert only(https, "ssl_certificate") == ["/etc/letsencrypt/live/%s/fullchain.pem" % NAME]
    assert only(https, "ssl_certificate_key") == ["/etc/letsencrypt/live/%s/privkey.pem" % NAME]
    assert headers(https, "add_header")["Strict-Transport-Security"] == ["max-age=31536000", "always"]

    proxied = location(https, "/")
    assert only(proxied, "proxy_pass") == ["http://django"]
    assert only(proxied, "proxy_http_version") == ["1.1"]
    assert headers(proxied, "proxy_set_header") == {
        "Connection": [""],
        "Host": ["$host"],
        "X-Forwarded-For": ["$proxy_add_x_forwarded_for"],
        "X-Forwarded-Proto": ["$scheme"],
    }
    next_upstream = only(proxied, "proxy_next_upstream")
    assert next_upstream[:2] == ["error", "timeout"]
    assert "non_idempotent" not in next_upstream

    for server in (http, https):
        acme = location(server, *ACME_LOCATION)
        assert only(acme, "root") == ["/var/www/html"]
        assert not args_of(acme, "proxy_pass")

    assert args_of(http, "listen") == [["80"]]
    assert only(http, "server_name") == [NAME]
    assert only(location(http, "/"), "return") == ["301", "https://$host$request_uri"]
    assert not [d for d in walk(http) if d.name == "proxy_pass"]


def test_default_server_with_tls(rendered: dict[str, Rendered]) -> None:
    (server,) = rendered["default"].servers("conf.d/00-default.conf")
    assert args_of(server, "listen") == [["80", "default_server"], ["443", "ssl", "default_server"]]
    assert only(server, "ssl_reject_handshake") == ["on"]
    assert only(server, "return") == ["444"]
    assert args_of(server, "ssl_certificate") == []


def test_without_certificate(rendered: dict[str, Rendered]) -> None:
    case = rendered["no_tls"]
    http, https = case.site()
    assert https is None
    site = case.tree["conf.d/10-site.conf"]
    assert not [d for d in walk(site) if d.name.startswith("ssl_") or d.name == "add_header"]
    assert not [a for d in walk(site) if d.name == "listen" for a in d.args if "443" in a]
    location(http, *ACME_LOCATION)
    assert only(location(http, "/"), "return") == ["301", "https://$host$request_uri"]

    (server,) = case.servers("conf.d/00-default.conf")
    assert args_of(server, "listen") == [["80", "default_server"]]
    assert args_of(server, "ssl_reject_handshake") == []
    assert only(server, "return") == ["444"]
    # tls.conf is still included at http level: it holds settings only, no listener or certificate.
    assert only(case.tree["tls.conf"], "ssl_protocols") == ["TLSv1.2", "TLSv1.3"]


def test_hsts_opt_ins(rendered: dict[str, Rendered]) -> None:
    _http, https = rendered["hsts_opt_in"].site()
    assert https is not None
    assert headers(https, "add_header")["Strict-Transport-Security"] == [
        "max-age=63072000; includeSubDomains; preload", "always"]


def test_ipv6(rendered: dict[str, Rendered]) -> None:
    case = rendered["ipv6"]
    http, https = case.site()
    assert https is not None
    assert args_of(http, "listen") == [["80"], ["[::]:80"]]
    assert args_of(https, "listen") == [["443", "ssl", "http2"], ["[::]:443", "ssl", "http2"]]
    (server,) = case.servers("conf.d/00-default.conf")
    assert args_of(server, "listen") == [
        ["80", "default_server"], ["[::]:80", "default_server"],
        ["443", "ssl", "default_server"], ["[::]:443", "ssl", "default_server"],
    ]


@pytest.mark.parametrize("case", [c for c in CASES if not CASES[c].get("nginx_proxy_listen_ipv6")])
def test_no_ipv6_by_default(rendered: dict[str, Rendered], case: str) -> None:
    for file, text in rendered[case].raw.items():
        assert "[::]" not in _strip_comments(text), file


def test_two_server_names(rendered: dict[str, Rendered]) -> None:
    http, https = rendered["two_names"].site()
    assert https is not None
    assert only(http, "server_name") == TWO_NAMES
    assert only(https, "server_name") == TWO_NAMES
    assert only(https, "ssl_certificate") == ["/etc/letsencrypt/live/www.example.org/fullchain.pem"]
    assert only(https, "ssl_certificate_key") == ["/etc/letsencrypt/live/www.example.org/privkey.pem"]


def test_parser_reads_quotes_and_comments() -> None:
    tree = parse('# top\nserver {\n  add_header X "a; b # c" always; # trailing\n  proxy_set_header Connection "";\n}\n')
    (server,) = [d.block for d in find(tree, "server")]
    assert server is not None
    assert headers(server, "add_header") == {"X": ["a; b # c", "always"]}
    assert headers(server, "proxy_set_header") == {"Connection": [""]}


def test_a_single_proxy_answers_challenges_from_its_own_webroot(rendered: dict[str, Rendered]) -> None:
    http, _https = rendered["default"].site()
    assert args_of(location(http, *ACME_LOCATION), "try_files") == []
    assert not [d for d in find(http, "location") if d.args == ["@acme_peers"]]
    assert not find(rendered["default"].tree["conf.d/10-site.conf"], "upstream")


@pytest.mark.parametrize(("case", "peers"), [
    ("acme_issuer_elsewhere", ["192.0.2.7:80"]),
    ("acme_issuer_ipv6", ["[2001:db8::7]:80"]),
    ("acme_peers", ["192.0.2.8:80", "192.0.2.7:80"]),
])
def test_each_proxy_asks_the_others_issuer_first_for_missing_challenges(
        rendered: dict[str, Rendered], case: str, peers: list[str]) -> None:
    http, https = rendered[case].site()
    acme = location(http, *ACME_LOCATION)
    assert only(acme, "root") == ["/var/www/html"]
    assert only(acme, "try_files") == ["$uri", "@acme_peers"]
    (upstream,) = list(find(rendered[case].tree["conf.d/10-site.conf"], "upstream"))
    assert upstream.args == ["djangoops_acme_peers"]
    assert [d.args for d in t.cast(list, upstream.block)] == [[peer, "max_fails=0"] for peer in peers]
    fallback = location(http, "@acme_peers")
    assert only(fallback, "proxy_pass") == ["http://djangoops_acme_peers"]
    assert headers(fallback, "proxy_set_header") == {"Host": ["$host"], "X-Djangoops-Acme-Forwarded": ["1"]}
    assert only(fallback, "proxy_next_upstream") == ["error", "timeout", "http_404"]
    # A request another proxy forwarded is answered here or not at all: never forwarded again.
    (guard,) = [d for d in t.cast(list, fallback) if d.name == "if"]
    assert guard.args == ["($http_x_djangoops_acme_forwarded)"]
    assert [(d.name, d.args) for d in t.cast(list, guard.block)] == [("return", ["404"])]
    # Only the plain-HTTP server forwards: the CA never validates over HTTPS.
    if https is not None:
        assert not [d for d in find(https, "location") if d.args == ["@acme_peers"]]


# --- Maintenance mode ----------------------------------------------------------------------------

FLAG = "/etc/nginx/djangoops/maintenance/on"
MAINTENANCE_URI = "/.djangoops/maintenance.html"


def _geo(case: Rendered) -> dict[str, str]:
    (geo,) = list(find(case.tree["conf.d/10-site.conf"], "geo"))
    assert geo.args == ["$djangoops_maintenance_exempt"]
    return {d.name: " ".join(d.args) for d in t.cast(list, geo.block)}


def _ifs(block: list[Directive]) -> list[tuple[list[str], list[tuple[str, list[str]]]]]:
    return [(d.args, [(inner.name, inner.args) for inner in t.cast(list, d.block)]) for d in find(block, "if")]


def test_the_flag_file_is_never_rendered() -> None:
    """A converge copies the rendered candidate over the live directory: the flag must not be part of it."""
    import yaml

    with (ROLE_DIR / "vars" / "main.yml").open(encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    assert role_vars["__nginx_proxy_maintenance_flag"] == "maintenance/on"
    assert role_vars["__nginx_proxy_maintenance_flag"] not in role_vars["__nginx_proxy_templates"]
    assert not (ROLE_DIR / "templates" / "maintenance" / "on.j2").exists()


@pytest.mark.parametrize(("case", "exempt"), [
    ("default", {"default": "0"}),
    ("maintenance", {"default": "0", "192.0.2.10": "1", "198.51.100.0/24": "1", "2001:db8:42::/48": "1"}),
])
def test_the_allowed_addresses_are_exempt(rendered: dict[str, Rendered], case: str, exempt: dict[str, str]) -> None:
    assert _geo(rendered[case]) == exempt


@pytest.mark.parametrize(("case", "retry_after", "hsts"), [
    ("default", "600", "max-age=31536000"),
    ("maintenance", "120", "max-age=31536000; includeSubDomains"),
])
def test_maintenance_answers_503_with_retry_after_and_the_page(
        rendered: dict[str, Rendered], case: str, retry_after: str, hsts: str) -> None:
    _http, https = rendered[case].site()
    assert https is not None
    # On while the flag file exists, unless the client is exempt; decided in the server, for every request.
    assert args_of(https, "set") == [["$djangoops_maintenance", ""]]
    assert _ifs(https) == [
        (["(-f", FLAG + ")"], [("set", ["$djangoops_maintenance", "on"])]),
        (["($djangoops_maintenance_exempt)"], [("set", ["$djangoops_maintenance", ""])]),
    ]
    # The app's location answers 503 then, and the 503 is the maintenance page.
    proxied = location(https, "/")
    assert _ifs(proxied) == [(["($djangoops_maintenance)"], [("return", ["503"])])]
    assert args_of(proxied, "error_page") == [["503", MAINTENANCE_URI], ["429", TOO_MANY_URI]]
    assert only(proxied, "proxy_pass") == ["http://django"]
    # The page: only by that internal redirect (an outside request for it gets 404), from the rendered file.
    page = location(https, "=", MAINTENANCE_URI)
    assert only(page, "internal") == []
    assert only(page, "alias") == ["/etc/nginx/djangoops/maintenance/page.html"]
    assert only(page, "default_type") == ["text/html; charset=utf-8"]
    (types,) = find(page, "types")
    assert types.block == []  # .html is not looked up: the type above, whatever the file is called
    assert not _ifs(page) and not args_of(page, "return") and not args_of(page, "error_page")
    # add_header there replaces the server's: the security headers are repeated, with the same values.
    assert headers(page, "add_header") == {
        "Retry-After": [retry_after, "always"],
        "Cache-Control": ["no-store", "always"],
        **headers(https, "add_header"),
    }
    assert headers(https, "add_header")["Strict-Transport-Security"] == [hsts, "always"]


@pytest.mark.parametrize("case", ["default", "maintenance"])
def test_acme_challenges_and_the_redirect_are_not_in_maintenance(rendered: dict[str, Rendered], case: str) -> None:
    http, https = rendered[case].site()
    assert https is not None
    # Plain HTTP: no maintenance at all (the CA validates there; everything else is redirected to HTTPS).
    assert not [str(d) for d in walk(http) if "maintenance" in str(d) or d.name in ("if", "set", "error_page")]
    assert only(location(http, "/"), "return") == ["301", "https://$host$request_uri"]
    assert only(location(http, *ACME_LOCATION), "root") == ["/var/www/html"]
    # Over HTTPS the challenge location has no 503 either (it is not the app's location).
    acme = location(https, *ACME_LOCATION)
    assert not _ifs(acme) and not args_of(acme, "error_page")


def test_without_certificate_there_is_no_maintenance_mode(rendered: dict[str, Rendered]) -> None:
    site = rendered["no_tls"].raw["conf.d/10-site.conf"]
    assert "djangoops_maintenance" not in site and "maintenance/on" not in site


def test_the_default_page_is_self_contained(rendered: dict[str, Rendered]) -> None:
    page = rendered["default"].raw[PAGE]
    assert "<!DOCTYPE html>" in page and "<title>Down for maintenance</title>" in page
    assert '<meta charset="utf-8">' in page
    # Every other request answers 503: nothing may be loaded from the site or elsewhere.
    assert not re.search(r"\b(src|href)=|@import|url\(|https?://", page), page


def test_the_users_page_is_served_as_written(rendered: dict[str, Rendered]) -> None:
    page = rendered["maintenance"].raw[PAGE]
    # After the managed comment, the file as it is: no Jinja rendered in it, no newline lost.
    assert page.endswith("-->\n" + USER_PAGE_TEXT), page


# --- Limits per client address (issue 23) ----------------------------------------------------------

TOO_MANY_URI = "/.djangoops/too-many-requests"
LIMITS = "conf.d/05-limits.conf"
TLS_CASES = [case for case, variables in CASES.items() if variables["__nginx_proxy_tls_enabled"]]
# The directives that make a location the app's, besides the maintenance check and the limits.
PROXY_DIRECTIVES = ("proxy_pass", "proxy_http_version", "proxy_set_header", "proxy_redirect", "proxy_next_upstream",
                    "proxy_next_upstream_tries", "proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout")


def _proxied_locations(server: list[Directive]) -> dict[str, list[Directive]]:
    """Path -> block of every location of ``server`` that proxies to the app."""
    return {" ".join(d.args): t.cast(list, d.block) for d in find(server, "location") if args_of(t.cast(list, d.block), "proxy_pass")}


def _limits(block: list[Directive]) -> tuple[list[list[str]], list[list[str]]]:
    return args_of(block, "limit_req"), args_of(block, "limit_conn")


def _zones(case: Rendered) -> dict[str, list[str]]:
    """Zone name -> (key, size, rate) of limit_req_zone, or (key, size) of limit_conn_zone."""
    zones = {}
    for directive in find(case.tree[LIMITS], "limit_req_zone") + find(case.tree[LIMITS], "limit_conn_zone"):
        (zone,) = [arg for arg in directive.args if arg.startswith("zone=")]
        name, size = zone.removeprefix("zone=").split(":")
        zones[name] = [directive.name, directive.args[0], size, *[arg for arg in directive.args if arg.startswith("rate=")]]
    return zones


def _http(case: Rendered) -> list[Directive]:
    (http,) = [d.block for d in find(case.tree["nginx.conf"], "http")]
    return t.cast(list, http)


@pytest.mark.parametrize(("case", "expected"), [
    ("default", {"client_header_timeout": ["10s"], "client_body_timeout": ["20s"], "send_timeout": ["20s"],
                 "keepalive_timeout": ["30s"], "large_client_header_buffers": ["4", "8k"], "client_max_body_size": ["25m"]}),
    ("limits_custom", {"client_header_timeout": ["5s"], "client_body_timeout": ["1m"], "send_timeout": ["45s"],
                       "keepalive_timeout": ["0"], "large_client_header_buffers": ["8", "16k"], "client_max_body_size": ["25m"]}),
])
def test_slow_clients_meet_timeouts_and_buffer_sizes(rendered: dict[str, Rendered], case: str, expected: dict[str, list[str]]) -> None:
    http = _http(rendered[case])
    assert {name: only(http, name) for name in expected} == expected


@pytest.mark.parametrize(("case", "connect", "read"), [("default", "3s", "10s"), ("limits_custom", "1s", "2m")])
def test_a_hung_app_server_holds_a_request_no_longer_than_the_read_timeout(
        rendered: dict[str, Rendered], case: str, connect: str, read: str) -> None:
    """Every location that proxies to the app gives up on a server after these, then tries the next one
    (idempotent requests, twice at most)."""
    _http_server, https = rendered[case].site()
    proxied = [d.block for d in walk(https) if d.name == "location" and d.block and args_of(d.block, "proxy_pass")]
    assert len(proxied) >= 2, proxied  # "/" and the login locations
    for block in proxied:
        timeouts = {name: only(block, name) for name in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout")}
        assert timeouts == {"proxy_connect_timeout": [connect], "proxy_read_timeout": [read], "proxy_send_timeout": [read]}
        assert only(block, "proxy_next_upstream_tries") == ["2"]
        assert "timeout" in only(block, "proxy_next_upstream")


def test_default_zones_count_each_address(rendered: dict[str, Rendered]) -> None:
    tree = rendered["default"].tree[LIMITS]
    assert only(tree, "limit_req_status") == ["429"]
    assert only(tree, "limit_conn_status") == ["429"]
    assert _zones(rendered["default"]) == {
        "djangoops_req": ["limit_req_zone", "$binary_remote_addr", "10m", "rate=20r/s"],
        "djangoops_login": ["limit_req_zone", "$djangoops_login_key", "10m", "rate=10r/m"],
        "djangoops_conn": ["limit_conn_zone", "$binary_remote_addr", "10m"],
    }
    # Login attempts only: fetching the form (GET, HEAD) has an empty key, which Nginx does not count.
    (login_key,) = find(tree, "map")
    assert login_key.args == ["$request_method", "$djangoops_login_key"]
    assert [(d.name, d.args) for d in t.cast(list, login_key.block)] == [
        ("GET", [""]), ("HEAD", [""]), ("default", ["$binary_remote_addr"])]


def test_default_limits_per_location(rendered: dict[str, Rendered]) -> None:
    _http_server, https = rendered["default"].site()
    assert https is not None
    general, login = ["zone=djangoops_req", "burst=100", "nodelay"], ["zone=djangoops_login", "burst=5", "nodelay"]
    assert {path: _limits(block) for path, block in _proxied_locations(https).items()} == {
        "/": ([general], [["djangoops_conn", "50"]]),
        # The login forms: the strict zone and the general one; the rest of /admin/ is under "/".
        "/admin/login/": ([login, general], [["djangoops_conn", "50"]]),
        "/accounts/login/": ([login, general], [["djangoops_conn", "50"]]),
    }


def test_custom_limits(rendered: dict[str, Rendered]) -> None:
    case = rendered["limits_custom"]
    assert _zones(case) == {
        "djangoops_req": ["limit_req_zone", "$binary_remote_addr", "1m", "rate=5r/s"],
        "djangoops_login": ["limit_req_zone", "$djangoops_login_key", "1m", "rate=3r/m"],
        # Numbered by the entry's place in nginx_proxy_limit_locations; /webhooks/ (rate "") has none.
        "djangoops_location_0": ["limit_req_zone", "$binary_remote_addr", "1m", "rate=50r/s"],
        "djangoops_location_2": ["limit_req_zone", "$binary_remote_addr", "1m", "rate=1r/s"],
        "djangoops_conn": ["limit_conn_zone", "$binary_remote_addr", "1m"],
    }
    _http_server, https = case.site()
    assert https is not None
    general = ["zone=djangoops_req", "burst=12", "nodelay"]
    login = ["zone=djangoops_login", "nodelay"]  # Nginx refuses burst=0
    conn = [["djangoops_conn", "20"]]
    assert {path: _limits(block) for path, block in _proxied_locations(https).items()} == {
        "/": ([general], conn),
        "/admin/login/": ([login, general], conn),
        "/api/token/": ([login, general], conn),
        # A location of its own replaces the general zone; without a burst it has none.
        "/api/": ([["zone=djangoops_location_0", "burst=100", "nodelay"]], conn),
        "/webhooks/": ([], conn),
        "/search/": ([["zone=djangoops_location_2", "nodelay"]], conn),
    }
    page = location(https, "=", TOO_MANY_URI)
    assert headers(page, "add_header")["Retry-After"] == ["30", "always"]


def test_login_limit_alone(rendered: dict[str, Rendered]) -> None:
    case = rendered["login_limit_only"]
    assert set(_zones(case)) == {"djangoops_login"}
    _http_server, https = case.site()
    assert https is not None
    login = ["zone=djangoops_login", "burst=5", "nodelay"]
    assert {path: _limits(block) for path, block in _proxied_locations(https).items()} == {
        "/": ([], []), "/admin/login/": ([login], []), "/accounts/login/": ([login], []),
    }
    assert args_of(location(https, "/"), "error_page") == [["503", MAINTENANCE_URI]]
    assert ["429", TOO_MANY_URI] in args_of(location(https, "/admin/login/"), "error_page")
    location(https, "=", TOO_MANY_URI)


def test_no_login_locations_no_login_zone(rendered: dict[str, Rendered]) -> None:
    case = rendered["no_login_locations"]
    assert set(_zones(case)) == {"djangoops_req", "djangoops_conn"}
    assert not find(case.tree[LIMITS], "map")
    _http_server, https = case.site()
    assert https is not None
    assert list(_proxied_locations(https)) == ["/"]


def test_every_limit_off(rendered: dict[str, Rendered]) -> None:
    case = rendered["limits_off"]
    assert _zones(case) == {} and not find(case.tree[LIMITS], "map")
    _http_server, https = case.site()
    assert https is not None
    assert list(_proxied_locations(https)) == ["/"]  # the login locations would be "/" again
    assert not [str(d) for d in walk(case.tree["conf.d/10-site.conf"]) if d.name.startswith("limit_")]
    assert not [str(d) for d in walk(case.tree["conf.d/10-site.conf"]) if d.args[:1] == ["429"]]
    assert not [d for d in find(https, "location") if TOO_MANY_URI in d.args]


@pytest.mark.parametrize("case", ["default", "maintenance", "limits_custom"])
def test_429_says_when_to_ask_again_with_the_security_headers(rendered: dict[str, Rendered], case: str) -> None:
    _http_server, https = rendered[case].site()
    assert https is not None
    page = location(https, "=", TOO_MANY_URI)
    assert only(page, "internal") == []
    assert only(page, "default_type") == ["text/plain; charset=utf-8"]
    (status, body) = only(page, "return")
    assert status == "429" and "Too many requests" in body
    retry_after = {"default": "60", "maintenance": "60", "limits_custom": "30"}[case]
    # add_header there replaces the server's: the security headers are repeated, with the same values.
    assert headers(page, "add_header") == {
        "Retry-After": [retry_after, "always"],
        "Cache-Control": ["no-store", "always"],
        **headers(https, "add_header"),
    }
    # Every location with a limit sends its 429 there; the internal pages have no limit of their own.
    for path, block in _proxied_locations(https).items():
        limited = any(_limits(block))
        assert (["429", TOO_MANY_URI] in args_of(block, "error_page")) == limited, path
    for internal in (page, location(https, "=", MAINTENANCE_URI)):
        assert _limits(internal) == ([], [])


@pytest.mark.parametrize("case", CASES)
def test_acme_challenges_and_the_redirect_are_never_limited(rendered: dict[str, Rendered], case: str) -> None:
    http, https = rendered[case].site()
    # Plain HTTP (the CA's challenges and the redirect) has no limit at all.
    assert not [str(d) for d in walk(http) if d.name.startswith("limit_")]
    if https is not None:
        assert not [str(d) for d in walk(location(https, *ACME_LOCATION)) if d.name.startswith("limit_")]
        # Only in locations: a limit in the server would reach the challenge location too.
        assert not [str(d) for d in https if d.name.startswith("limit_")]
    # Nor anywhere in the default server or at http level, besides the statuses.
    assert not [str(d) for d in walk(rendered[case].tree["conf.d/00-default.conf"]) if d.name.startswith("limit_")]
    assert not [str(d) for d in _http(rendered[case]) if d.name.startswith("limit_")]


@pytest.mark.parametrize("case", TLS_CASES)
def test_every_proxied_location_honours_maintenance_mode(rendered: dict[str, Rendered], case: str) -> None:
    _http_server, https = rendered[case].site()
    assert https is not None
    proxied = _proxied_locations(https)
    expected_paths = {"/"} | ({"/admin/login/", "/accounts/login/"} if case not in ("limits_off", "no_login_locations") else set())
    if case == "limits_custom":
        expected_paths = {"/", "/admin/login/", "/api/token/", "/api/", "/webhooks/", "/search/"}
    assert set(proxied) == expected_paths
    reference = [d for d in proxied["/"] if d.name in PROXY_DIRECTIVES]
    for path, block in proxied.items():
        assert _ifs(block) == [(["($djangoops_maintenance)"], [("return", ["503"])])], path
        assert ["503", MAINTENANCE_URI] in args_of(block, "error_page"), path
        # The same proxying everywhere (one macro renders them all): nothing drifts.
        assert [d for d in block if d.name in PROXY_DIRECTIVES] == reference, path


def test_without_certificate_the_zones_are_unused(rendered: dict[str, Rendered]) -> None:
    case = rendered["no_tls"]
    # Defined at http level all the same (Nginx accepts zones no location uses); nothing in the site applies them.
    assert set(_zones(case)) == {"djangoops_req", "djangoops_login", "djangoops_conn"}
    assert not [str(d) for d in walk(case.tree["conf.d/10-site.conf"]) if d.name.startswith("limit_")]


# --- Hardening: a read-only root file system, a health check ----------------------------------------

# Every temporary file Nginx's HTTP modules write (the official image's Nginx and Debian's build them all in):
# a path left to the image's build (/var/cache/nginx, /var/lib/nginx) would be created at start on the
# read-only root file system, and Nginx would not start.
TEMP_PATHS = ("client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path")


@pytest.mark.parametrize("case", ["default", "no_tls"])
def test_nginx_writes_only_under_the_tmpfs(rendered: dict[str, Rendered], case: str) -> None:
    tree = rendered[case].tree["nginx.conf"]
    (http,) = [d.block for d in find(tree, "http")]
    assert only(tree, "pid") == ["/tmp/nginx.pid"]
    paths = [only(http, name)[0] for name in TEMP_PATHS]
    assert all(path.startswith("/tmp/") for path in paths), paths
    assert len(set(paths)) == len(paths), paths
    # Logs go to Docker, not to files.
    assert only(tree, "error_log")[0] == "/dev/stderr"
    assert only(http, "access_log")[0] == "/dev/stdout"
    # No temp path of any file elsewhere, where it would escape the tmpfs.
    for file in NGINX_FILES:
        for directive in walk(rendered[case].tree[file]):
            if directive.name.endswith("_temp_path") or directive.name == "proxy_cache_path":
                assert directive.args[0].startswith("/tmp/"), (file, str(directive))


@pytest.mark.parametrize("case, port", [("default", "8081"), ("health_port", "9181")])
def test_the_health_endpoint_answers_on_loopback_only(rendered: dict[str, Rendered], case: str, port: str) -> None:
    (server,) = rendered[case].servers("conf.d/05-health.conf")
    assert args_of(server, "listen") == [["127.0.0.1:" + port]]
    assert only(server, "access_log") == ["off"]
    healthz = location(server, "=", "/healthz")
    assert only(healthz, "return") == ["200", "ok\\n"]
    # Anything else there is no page of the site.
    assert only(location(server, "/"), "return") == ["404"]
    # No other server listens on that port, on any address.
    others = [args[0] for file in NGINX_FILES if file != "conf.d/05-health.conf"
              for server in rendered[case].servers(file) for args in args_of(server, "listen")]
    assert others and not [listen for listen in others if listen.rsplit(":", 1)[-1] == port], others

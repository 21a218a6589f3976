# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _settings

GOOD = [
    ("dns_name", "www.example.com"), ("dns_name", "*.example.com"), ("dns_name", "localhost"),
    ("django_host", ".example.com"), ("django_host", "*"), ("django_host", "polls.djangoops.test"),
    ("nginx_size", "25m"), ("nginx_size", 1048576), ("nginx_size", "1G"), ("nginx_size", "0"),
    ("url_path", "/polls/"), ("url_path", "/healthz"), ("url_path", "/"), ("url_path", "/a-b_c.d/~e%20"),
    ("config_dir", "/etc/djangoops/polls"), ("config_dir", "/srv/polls"), ("config_dir", "/opt/app/config/"),
    ("source", "10.0.0.5"), ("source", "10.0.0.0/8"), ("source", "2001:db8::/32"), ("source", "0.0.0.0/0"),
    ("bounded_source", "192.168.0.0/16"), ("bounded_source", "2001:db8::1"),
    ("check_id", "security.W018"), ("check_id", "fields.E300"), ("check_id", "myapp.checks.W001"),
    ("bind_address", "10.87.0.11"), ("bind_address", "0.0.0.0"), ("bind_address", "fd00::11"),
    ("bind_address", "app1.djangoops.internal"),
    ("env_key", "SENTRY_DSN"), ("env_key", "_X1"),
    ("one_line", "https://sentry.example.com/1"), ("one_line", 42), ("one_line", "a b = c ; 'd'"),
    ("identifier", "django"), ("identifier", "app_upstream2"),
    ("lineage_name", "www.example.com"), ("lineage_name", "site-cert_2"),
    ("cron_hour", "3,15"), ("cron_hour", 0), ("cron_hour", "23"), ("cron_minute", "17"), ("cron_minute", "0,30,59"),
    ("port", 8000), ("port", "443"), ("port", 65535), ("container_name", "polls"), ("container_name", "edge-nginx.1"),
    ("regex", "^ok$"), ("regex", ""), ("regex", r"\bok\b"),
    ("nginx_rate", "20r/s"), ("nginx_rate", "10r/m"), ("nginx_rate", ""),
    ("nginx_time", "10s"), ("nginx_time", "500ms"), ("nginx_time", 30), ("nginx_time", "0"),
    ("nginx_buffers", "4 8k"), ("nginx_buffers", "8 16k"), ("nginx_buffers", "2 1m"),
    ("limited_path", "/admin/login/"), ("limited_path", "/.well-known/security.txt"),
    ("limit_location", {"path": "/api/", "rate": "50r/s", "burst": 100}), ("limit_location", {"path": "/hooks/", "rate": ""}),
    ("limit_location", {"path": "/search/", "rate": "1r/s", "burst": 0}),
    ("docker_memory", "1g"), ("docker_memory", "512m"), ("docker_memory", ""), ("docker_memory", "0"), ("docker_memory", "1073741824"),
    ("tmpfs_size", "64m"), ("tmpfs_size", "65536"), ("tmpfs_mount", "/tmp:rw,noexec,nosuid,nodev,size=128m"), ("tmpfs_mount", "/run"),
    ("capability", "ALL"), ("capability", "NET_BIND_SERVICE"), ("capability", "CAP_CHOWN"),
    ("docker_user", "10001:10001"), ("docker_user", "app"), ("docker_user", "www-data:www-data"), ("docker_user", "0"), ("docker_user", ""),
]

# (kind, value, words the problem must contain)
BAD = [
    ("dns_name", "www.example.com ", "not a DNS name"), ("dns_name", "bad name!", "not a DNS name"),
    ("dns_name", "a;b.example.com", "not a DNS name"), ("dns_name", "", "not a DNS name"), ("dns_name", None, "not a DNS name"),
    ("django_host", "* ", "not a DNS name"), ("django_host", "*.example.com", "write '.example.com'"),
    ("nginx_size", "25m; autoindex on", "not an Nginx size"), ("nginx_size", "25 MB", "not an Nginx size"),
    ("nginx_size", "-1", "not an Nginx size"), ("nginx_size", True, "not an Nginx size"),
    ("url_path", "/polls/'); import os; ('", "not a URL path"), ("url_path", "polls/", "not a URL path"),
    ("url_path", '/a"b', "not a URL path"), ("url_path", "/a\nb", "not a URL path"), ("url_path", "/a b", "not a URL path"),
    ("config_dir", "/etc", "system directory"), ("config_dir", "/etc/", "system directory"), ("config_dir", "/", "system directory"),
    ("config_dir", "/var/lib", "system directory"), ("config_dir", "/usr//local/", "system directory"),
    ("config_dir", "/etc/djangoops/../../etc", "'..'"), ("config_dir", "etc/djangoops", "not an absolute path"),
    ("config_dir", "/etc/djangoops\n", "control character"),
    ("source", "anywhere", "not an IP address"), ("source", "10.0.0.0/33", "not an IP address"), ("source", "", "not an IP address"),
    ("bounded_source", "0.0.0.0/0", "every address"), ("bounded_source", "::/0", "every address"),
    ("bounded_source", "1.2.3.4/0", "every address"), ("bounded_source", "no", "not an IP address"),
    ("check_id", "W018", "not a Django check id"), ("check_id", "security.W018; rm", "not a Django check id"),
    ("bind_address", "app_1.internal", "not an IP address or a host name"), ("bind_address", "10.0.0.0/8", "not an IP address"),
    ("bind_address", "10.0.0.300", "not an IP address or a host name"),
    ("env_key", "DEBUG MODE", "not an environment variable name"), ("env_key", "1X", "not an environment variable name"),
    ("env_key", "A=B", "not an environment variable name"),
    ("one_line", "x\nDEBUG=True", "newline"), ("one_line", "x\rY", "newline"), ("one_line", {"a": 1}, "write a string"),
    ("identifier", "django app", "not a name"), ("identifier", "up;stream", "not a name"),
    ("lineage_name", "../etc", "not a certificate name"), ("lineage_name", "www.example.com ", "not a certificate name"),
    ("cron_hour", "24", "0-23"), ("cron_hour", "*", "0-23"), ("cron_hour", "3;15", "0-23"), ("cron_hour", "", "0-23"),
    ("cron_minute", 60, "0-59"), ("cron_minute", "17\n* * * * * root id", "0-59"), ("cron_minute", True, "0-59"),
    ("container_name", "polls app", "not a container name"), ("container_name", "../x", "not a container name"),
    ("port", 0, "not a port"), ("port", 70000, "not a port"), ("port", "80; x", "not a port"), ("port", True, "not a port"),
    ("regex", "ok(", "not a regular expression"), ("regex", 200, "not a string"),
    ("nginx_rate", "20/s", "not a request rate"), ("nginx_rate", "20r/h", "such as 20r/s"), ("nginx_rate", "0r/s", "not a request rate"),
    ("nginx_rate", "20r/s; x", "not a request rate"), ("nginx_rate", 20, "not a request rate"),
    ("nginx_time", "10 s", "not an Nginx time"), ("nginx_time", "10s;", "not an Nginx time"), ("nginx_time", True, "not an Nginx time"),
    ("nginx_buffers", "8k", "such as 4 8k"), ("nginx_buffers", "4 8k; x", "not a number and size"), ("nginx_buffers", "0 8k", "not a number"),
    ("limited_path", "/", "the general one"), ("limited_path", "admin/", "not a URL path"),
    ("limited_path", "/.well-known/acme-challenge/", "ACME challenges"), ("limited_path", "/.well-known/acme-challenge", "ACME"),
    ("limited_path", "/admin/ {", "not a URL path"),
    ("limit_location", "/api/", "not a mapping"), ("limit_location", {"path": "/api/"}, "missing: rate"),
    ("limit_location", {"path": "/api/", "rate": "5r/s", "brust": 5}, "unknown: brust"),
    ("limit_location", {"path": "api/", "rate": "5r/s"}, "not a URL path"),
    ("limit_location", {"path": "/api/", "rate": "5 r/s"}, "not a request rate"),
    ("limit_location", {"path": "/api/", "rate": "5r/s", "burst": -1}, "burst -1 of /api/"),
    ("limit_location", {"path": "/api/", "rate": "5r/s", "burst": True}, "0 or more"),
    ("docker_memory", "1 GB", "such as 512m"), ("docker_memory", "-1", "or empty or 0"), ("docker_memory", "lots", "not a size"),
    ("tmpfs_size", "", "such as 64m"), ("tmpfs_size", "64 MB", "not a size"),
    ("tmpfs_mount", "tmp:rw,size=64m", "absolute path"), ("tmpfs_mount", "/tmp:rw size=64m", "tmpfs mount"),
    ("capability", "NET BIND", "capability name"), ("capability", "CAP_CHOWN;x", "capability name"),
    ("docker_user", "10001 10001", "--user"), ("docker_user", "app name", "<uid>:<gid>"), ("docker_user", "app:", "--user"),
]


@pytest.mark.parametrize("kind, value", GOOD, ids=repr)
def test_good_values_pass(kind: str, value: object) -> None:
    assert _settings.CHECKS[kind](value) is None


@pytest.mark.parametrize("kind, value, words", BAD, ids=repr)
def test_bad_values_are_named_with_what_to_write(kind: str, value: object, words: str) -> None:
    problem = _settings.CHECKS[kind](value)
    assert problem is not None and words in problem, problem


def test_every_kind_is_tested_both_ways() -> None:
    assert {kind for kind, _value in GOOD} == set(_settings.CHECKS) == {kind for kind, _value, _words in BAD}


def test_problems_name_the_variable_and_the_list_index() -> None:
    found = _settings.problems({
        "nginx_proxy_client_max_body_size": ("nginx_size", "25m; autoindex on"),
        "certbot_domains": ("dns_name", ["www.example.com", "example.com "]),
        "django_app_healthcheck_path": ("url_path", "/polls/"),
    })
    assert found == [
        "nginx_proxy_client_max_body_size: '25m; autoindex on' is not an Nginx size: a number with an optional k, m or g,"
        " such as 25m",
        "certbot_domains[1]: 'example.com ' is not a DNS name (letters, digits and '-' in dot-separated labels,"
        " a leading '*.' allowed, no spaces)",
    ]


def test_an_unknown_kind_is_an_error_naming_it() -> None:
    with pytest.raises(_settings.UnknownKind, match="no check of kind 'dns' .for x"):
        _settings.problems({"x": ("dns", "a")})

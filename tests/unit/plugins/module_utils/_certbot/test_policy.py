# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot/policy.py: the renewal policy and the decision, with an explicit ``now``."""

from __future__ import annotations

import os
import typing as t

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import ParameterError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    LineageState,
    inspect_lineage,
    staging_issuer_names,
)
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.policy import RenewalPolicy, decide
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    DAY,
    DOMAINS,
    NOW,
    key_pem,
    make_leaf,
    write_lineage,
)


def _scenario(name: str, tmp_path, cas) -> tuple[LineageState, frozenset]:
    """Build the production (and staging) lineage a decision case describes; return it and the staging issuers."""
    prod_dir = tmp_path / "letsencrypt"
    stage_dir = tmp_path / "letsencrypt-staging"
    staging_cert, staging_key = make_leaf(cas["pebble_staging"])
    write_lineage(stage_dir, "shop", staging_cert, staging_key, cas["pebble_staging"])
    staging_issuers = staging_issuer_names(inspect_lineage(str(stage_dir / "live" / "shop")).certificate)
    live = str(prod_dir / "live" / "shop")

    if name == "no-cert":
        return inspect_lineage(live), staging_issuers
    if name == "garbage":
        os.makedirs(live)
        with open(os.path.join(live, "fullchain.pem"), "w") as handle:
            handle.write("<html>502 Bad Gateway</html>\n")
        return inspect_lineage(live), staging_issuers

    leaf_kwargs: dict[str, t.Any] = {}
    ca = cas["production"]
    if name in ("le-staging", "fake-le", "pebble-staging"):
        ca = cas[name.replace("-", "_")]
    elif name == "missing-domain":
        leaf_kwargs["domains"] = ("shop.example.test",)
    elif name == "extra-domain":
        leaf_kwargs["domains"] = DOMAINS + ("old.example.test",)
    elif name == "missing-and-extra":
        leaf_kwargs["domains"] = ("shop.example.test", "old.example.test")
    elif name == "uppercase-san":
        leaf_kwargs["domains"] = ("SHOP.example.test", "www.shop.example.test")
    elif name == "renewal-due":
        leaf_kwargs.update(not_before=NOW - 70 * DAY, not_after=NOW + 20 * DAY)
    elif name == "expired":
        leaf_kwargs.update(not_before=NOW - 100 * DAY, not_after=NOW - 10 * DAY)
    elif name == "rsa":
        leaf_kwargs["key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert, key = make_leaf(ca, **leaf_kwargs)
    write_lineage(prod_dir, "shop", cert, key, ca)
    if name == "key-mismatch":
        with open(os.path.join(live, "privkey.pem"), "wb") as handle:
            handle.write(key_pem(ec.generate_private_key(ec.SECP256R1())))
    if name == "key-garbage":
        with open(os.path.join(live, "privkey.pem"), "w") as handle:
            handle.write("not a key\n")
    return inspect_lineage(live), staging_issuers


@pytest.mark.parametrize(
    "scenario, force, action, reason",
    [
        ("no-cert", False, "issue", "no certificate"),
        ("no-cert", True, "issue", "no certificate"),
        ("le-staging", False, "issue", "issued by a staging CA"),
        ("fake-le", False, "issue", "issued by a staging CA"),
        ("pebble-staging", False, "issue", "issued by a staging CA"),
        ("missing-domain", False, "issue", "domains changed: missing www.shop.example.test"),
        ("extra-domain", False, "issue", "domains changed: extra old.example.test"),
        (
            "missing-and-extra", False, "issue",
            "domains changed: missing www.shop.example.test / extra old.example.test",
        ),
        ("renewal-due", False, "issue", "renewal due (expires 2026-12-14T12:00:00+00:00; due from 2026-11-14T12:00:00+00:00, by the certificate's lifetime)"),
        ("expired", False, "issue", "renewal due (expires 2026-11-14T12:00:00+00:00; due from 2026-10-15T12:00:00+00:00, by the certificate's lifetime)"),
        ("key-mismatch", False, "issue", "private key does not match certificate"),
        ("key-garbage", False, "issue", "private key does not match certificate"),
        ("rsa", False, "issue", "key type changed: rsa -> ecdsa"),
        (
            "valid", False, "none",
            "certificate is valid until 2027-02-12T12:00:00+00:00 (renewal due from 2027-01-13T12:00:00+00:00; by the certificate's lifetime)",
        ),
        (
            "uppercase-san", False, "none",
            "certificate is valid until 2027-02-12T12:00:00+00:00 (renewal due from 2027-01-13T12:00:00+00:00; by the certificate's lifetime)",
        ),
        ("valid", True, "issue", "forced"),
    ],
)
def test_decide(tmp_path, cas, scenario, force, action, reason):
    lineage, staging_issuers = _scenario(scenario, tmp_path, cas)
    decision = decide(
        lineage,
        domains=DOMAINS,
        staging_issuers=staging_issuers,
        policy=RenewalPolicy.from_options(),
        now=NOW,
        force=force,
        key_type="ecdsa",
    )
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.changed is (action == "issue")


def test_decide_names_the_unreadable_file(tmp_path, cas):
    lineage, staging_issuers = _scenario("garbage", tmp_path, cas)
    decision = decide(
        lineage, domains=DOMAINS, staging_issuers=staging_issuers, policy=RenewalPolicy.from_options(), now=NOW
    )
    assert decision.action == "issue"
    assert decision.reason == (
        "unreadable certificate: %s: no PEM certificate (-----BEGIN CERTIFICATE-----) found" % lineage.fullchain
    )


def test_pebble_staging_issuer_is_unknown_without_the_staging_lineage(tmp_path, cas):
    # The same certificate is fine when nothing tells us its issuer is the staging CA.
    lineage = _scenario("pebble-staging", tmp_path, cas)[0]
    decision = decide(lineage, domains=DOMAINS, staging_issuers=frozenset(), policy=RenewalPolicy(), now=NOW)
    assert decision.action == "none"


@pytest.mark.parametrize(
    "policy, remaining_days, action",
    [
        # 90-day certificate: a third is 30 days, a half 45 days.
        (RenewalPolicy.from_options(), 31, "none"),
        (RenewalPolicy.from_options(), 29, "issue"),
        (RenewalPolicy.from_options(fraction=0.5), 46, "none"),
        (RenewalPolicy.from_options(fraction=0.5), 44, "issue"),
        (RenewalPolicy.from_options(days=10), 11, "none"),
        (RenewalPolicy.from_options(days=10), 9, "issue"),
        (RenewalPolicy.from_options(days=60), 59, "issue"),
    ],
)
def test_renewal_thresholds(tmp_path, cas, policy, remaining_days, action):
    not_after = NOW + remaining_days * DAY
    cert, key = make_leaf(cas["production"], not_before=not_after - 90 * DAY, not_after=not_after)
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    decision = decide(inspect_lineage(live), domains=DOMAINS, staging_issuers=frozenset(), policy=policy, now=NOW)
    assert decision.action == action


@pytest.mark.parametrize(
    "fraction, days, message",
    [
        (0.0, None, "renew_before is a fraction"),
        (1.0, None, "renew_before is a fraction"),
        (30.0, None, "renew_before is a fraction"),
        (None, 0, "renew_before_days must be at least 1, got 0"),
        (0.3, 10, "set renew_before or renew_before_days, not both"),
    ],
)
def test_renewal_policy_rejects_bad_values(fraction, days, message):
    with pytest.raises(ParameterError) as caught:
        RenewalPolicy.from_options(fraction=fraction, days=days)
    assert str(caught.value).startswith(message)

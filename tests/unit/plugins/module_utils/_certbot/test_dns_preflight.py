# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot/dns_preflight.py: challenge names, the zone lookup, the updates (one value
added, that value deleted) and the wait, against an in-memory authoritative server that checks TSIG as BIND does."""

from __future__ import annotations

import base64

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import dns.update
import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.dns_preflight import (
    PreflightError,
    Server,
    challenge_names,
    find_zone,
    run_preflight,
)

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SERVER = Server("192.0.2.53", 53, "certbot.", SECRET, "HMAC-SHA256")


class Zone:
    """example.test. as an authoritative server holds it: TSIG-checked updates, TXT records by name."""

    def __init__(self, allowed: tuple[str, ...] = ("_acme-challenge.shop.example.test.",)) -> None:
        self.origin = dns.name.from_text("example.test.")
        self.allowed = {dns.name.from_text(name) for name in allowed}
        self.txt: dict[dns.name.Name, list[str]] = {dns.name.from_text("_acme-challenge.shop.example.test."): ['"in-flight"']}
        self.updates: list[dns.message.Message] = []

    def query(self, message: dns.message.Message, server: Server) -> dns.message.Message:
        # Re-parse as the wire carries it, checking the signature with the zone's own copy of the key.
        wire = message.to_wire()
        parsed = dns.message.from_wire(wire, keyring=dns.tsigkeyring.from_text({"certbot.": SECRET}))
        response = dns.message.make_response(parsed)
        if isinstance(parsed, dns.update.UpdateMessage):
            self.updates.append(parsed)
            for rrset in parsed.update:
                if rrset.name not in self.allowed or rrset.rdtype != dns.rdatatype.TXT:
                    response.set_rcode(dns.rcode.REFUSED)
                    return response
            for rrset in parsed.update:
                values = self.txt.setdefault(rrset.name, [])
                for rdata in rrset:
                    if rrset.deleting:
                        values.remove(rdata.to_text())
                    else:
                        values.append(rdata.to_text())
            return response
        (question,) = parsed.question
        if question.name == self.origin and question.rdtype == dns.rdatatype.SOA:
            response.flags |= dns.flags.AA
            response.answer.append(dns.rrset.from_text(self.origin, 60, "IN", "SOA", "ns. host. 1 60 60 3600 1"))
        elif question.name.is_subdomain(self.origin):
            response.flags |= dns.flags.AA
        else:
            response.set_rcode(dns.rcode.REFUSED)
        return response

    def lookup(self, name: str) -> list[str]:
        return [value.strip('"') for value in self.txt.get(dns.name.from_text(name), [])]


def test_challenge_names_share_one_per_base_name():
    assert challenge_names(["Shop.example.test", "*.shop.example.test", "www.shop.example.test"]) == [
        "_acme-challenge.shop.example.test.", "_acme-challenge.www.shop.example.test."]


def test_the_zone_is_the_nearest_one_the_server_answers_for_with_authority():
    assert find_zone("_acme-challenge.shop.example.test.", SERVER, Zone().query) == "example.test."
    with pytest.raises(PreflightError, match="192.0.2.53:53 is authoritative for no zone above _acme-challenge.shop.other.test."):
        find_zone("_acme-challenge.shop.other.test.", SERVER, Zone().query)


def test_one_value_is_added_seen_and_deleted_leaving_a_challenge_in_flight():
    zone = Zone()
    outcome = run_preflight(["shop.example.test", "*.shop.example.test"], SERVER, lookup=zone.lookup, wait=5,
                            query=zone.query, token=lambda: "tok")
    assert [(name.name, name.zone, name.seen_after, name.removed) for name in outcome.names] == [
        ("_acme-challenge.shop.example.test.", "example.test.", 0.0, True)]
    assert len(zone.updates) == 2 and all(update.had_tsig for update in zone.updates)
    assert zone.lookup("_acme-challenge.shop.example.test.") == ["in-flight"]


def test_a_record_never_seen_fails_after_the_wait_and_is_deleted_all_the_same():
    zone = Zone()
    now = [0.0]
    with pytest.raises(PreflightError, match=r"did not answer it within 3 s"):
        run_preflight(["shop.example.test"], SERVER, lookup=lambda name: [], wait=3, query=zone.query,
                      sleep=lambda seconds: now.__setitem__(0, now[0] + seconds), clock=lambda: now[0])
    assert zone.lookup("_acme-challenge.shop.example.test.") == ["in-flight"]


def test_a_refused_update_names_the_key_and_the_grant_it_needs():
    zone = Zone(allowed=())
    with pytest.raises(PreflightError, match=r"refused the update of _acme-challenge.shop.example.test. TXT \(REFUSED\): let key"
                                             r" certbot. update .* grant certbot. name _acme-challenge.shop.example.test. TXT"):
        run_preflight(["shop.example.test"], SERVER, lookup=zone.lookup, wait=5, query=zone.query)


def test_check_mode_only_finds_the_zones():
    zone = Zone()
    outcome = run_preflight(["shop.example.test"], SERVER, lookup=zone.lookup, wait=5, query=zone.query, check_mode=True)
    assert outcome.names[0].zone == "example.test." and outcome.names[0].seen_after is None
    assert zone.updates == []


def test_a_secret_that_is_not_base64_is_named():
    server = Server("192.0.2.53", 53, "certbot.", "not base64!", "HMAC-SHA256")
    with pytest.raises(PreflightError, match="the TSIG key certbot. has a secret that is not base64"):
        run_preflight(["shop.example.test"], server, lookup=Zone().lookup, wait=5, query=Zone().query)

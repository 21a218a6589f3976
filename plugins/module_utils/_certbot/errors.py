# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The errors of djangoops.fleet.certbot_certificate; the module maps them to ``fail_json``.

Every message names the culprit (file, domain, option or stage) and, where there is one, the fix.
"""

from __future__ import annotations

import typing as t


class CertbotError(Exception):
    """Base of this concern's errors; messages name the culprit (file, domain, option) and the fix."""


class CertificateReadError(CertbotError):
    """A certificate file exists but cannot be used: unreadable, empty or not a PEM certificate."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__("%s: %s" % (path, problem))


class ParameterError(CertbotError):
    """An option value that cannot work; the message names the option."""


class CertbotRunError(CertbotError):
    """A certbot stage failed; ``stage`` tells whether production was ever contacted."""

    def __init__(self, stage: str, reason: str, *, rc: int | None = None, tail: t.Sequence[str] = ()) -> None:
        self.stage = stage
        self.reason = reason
        self.rc = rc
        self.tail = tuple(tail)
        super().__init__("%s certificate request failed: %s" % (stage, reason))

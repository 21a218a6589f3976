# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which release a rollback returns to, from each app server's release history.

Each app server keeps the releases that went live on it, oldest first (a deploy appends its
image once the health check passed; a rollback cuts the history back to the release it returned
to). A rollback must pick the same release however far an earlier deploy or rollback got:
- after a deploy that failed its health check somewhere, the server it failed on runs an image
  its history does not hold: that image is the one to leave (a server with no history at all
  tells nothing, and an image its history holds went live there before);
- after a rollback interrupted half-way, the servers not reached yet still hold the longer
  history: the longest history is the reference, so a second run returns to the same release.
"""

from __future__ import annotations

import dataclasses
import typing as t


class RollbackError(Exception):
    """No release to return to; the message says why and what the histories hold."""


@dataclasses.dataclass(frozen=True)
class Rollback:
    """The release to return to, the one left behind, and the host whose history decided."""

    target: str
    leaving: str
    reference_host: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def rollback_release(servers: t.Sequence[tuple[str, t.Sequence[str], str]]) -> Rollback:
    """Pick the release to roll back to.

    ``servers`` holds, in play order, each app server's name, release history (oldest first) and
    the image its app container runs ('' when it has none).
    """
    if not servers:
        raise RollbackError("no app server to roll back")
    reference_host, reference = servers[0][0], list(servers[0][1])
    for host, history, _running in servers[1:]:
        if len(history) > len(reference):
            reference_host, reference = host, list(history)
    unfinished = [(host, running) for host, history, running in servers if _never_went_live(history, running)]
    if unfinished:
        host, leaving = unfinished[0]
        reason = "%s runs %s, which never went live there (a deploy stopped)" % (host, leaving)
    else:
        leaving = reference[-1] if reference else ""
        reason = "%s is the current release" % (leaving or "nothing")
    earlier = [release for release in reference if release != leaving]
    if not earlier:
        raise RollbackError(
            "the release history of %s holds no release before the current one (%s): %s"
            % (reference_host, reason, reference or "empty")
        )
    return Rollback(target=earlier[-1], leaving=leaving, reference_host=reference_host, reason=reason)


def _never_went_live(history: t.Sequence[str], running: str) -> bool:
    """Whether ``running`` is a release a deploy stopped at on this server: one its history never
    recorded. A server with no history tells nothing (it ran before histories were kept, or its
    history was lost), and a running release the history holds went live there: it is where a
    rollback interrupted before recording it stopped, so running the rollback again finishes it."""
    if not history or not running:
        return False
    return running not in history


def recorded_history(history: t.Sequence[str], release: str, *, rollback: bool, length: int) -> list[str]:
    """The history after ``release`` went live: a deploy appends it (once), a rollback cuts the
    history back to its last occurrence (or appends it, on a server that never ran it)."""
    history = list(history)
    if rollback and release in history:
        return history[:len(history) - history[::-1].index(release)]
    if history and history[-1] == release:
        return history
    return (history + [release])[-length:] if length > 0 else history + [release]


def image_repository(reference: str) -> str:
    """``registry:5000/team/app:1.2`` and ``registry:5000/team/app@sha256:...`` -> ``registry:5000/team/app``."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def images_to_prune(images: t.Sequence[t.Mapping[str, t.Any]], keep: t.Collection[str]) -> list[str]:
    """The tags to remove so that only the releases in ``keep`` stay: of each image of the repositories
    ``keep`` names, every tag when none of its tags or digests is kept (an image a kept release names stays
    with all its tags). Untagged images and other repositories are left alone."""
    kept = set(keep)
    repositories = {image_repository(reference) for reference in kept}
    remove: list[str] = []
    for image in images:
        tags = [tag for tag in image.get("RepoTags") or [] if tag and tag != "<none>:<none>"]
        names = set(tags) | set(image.get("RepoDigests") or [])
        if not tags or names & kept:
            continue
        remove.extend(tag for tag in tags if image_repository(tag) in repositories and tag not in remove)
    return remove

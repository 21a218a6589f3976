# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Django's deployment checks of a release (roles/django_app/files/deploy_check.py), judged: which
findings stop a production release, which the user accepted by name, and what each means in plain
words."""

from __future__ import annotations

import json
import typing as t

PREFIX = "djangoops-check: "
DONE = "djangoops: deploy checks done"
# django.core.checks levels
LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}
WARNING = 30

# What the findings users meet most often mean for a site behind djangoops.fleet's proxies.
PLAIN_WORDS = {
    "security.W018": (
        "DEBUG is on in this release: error pages would show settings and code to anyone. The env file says"
        " DEBUG=False; a settings.py that takes os.getenv('DEBUG') as it is reads the string 'False' as true."
        " Parse it as a boolean (os.environ.get('DEBUG', '') == 'True')"),
    "security.W009": ("SECRET_KEY is short, simple or a placeholder: sessions and signed values can be forged."
                      " Set django_app_secret_key to 50+ random characters"),
    "security.W020": "ALLOWED_HOSTS is empty: Django refuses every request. Read DJANGO_ALLOWED_HOSTS from the env file",
    "security.W012": "SESSION_COOKIE_SECURE is off: session cookies would travel over plain HTTP",
    "security.W016": "CSRF_COOKIE_SECURE is off: the CSRF cookie would travel over plain HTTP",
    "security.W004": ("SECURE_HSTS_SECONDS is unset. The proxies send Strict-Transport-Security; accept this one"
                      " by name, or silence it in the app's SILENCED_SYSTEM_CHECKS"),
    "security.W008": ("SECURE_SSL_REDIRECT is off. The proxies redirect HTTP to HTTPS; accept this one by name, or"
                      " silence it in the app's SILENCED_SYSTEM_CHECKS"),
}


def findings(output: str) -> list[dict]:
    """The findings the check script printed, in order. Raises ValueError when the script did not finish."""
    lines = output.splitlines()
    if DONE not in (line.strip() for line in lines):
        raise ValueError("the deploy checks did not finish: %s" % " | ".join(lines[-10:]))
    return [json.loads(line.strip()[len(PREFIX):]) for line in lines if line.strip().startswith(PREFIX)]


def judge(output: str, accepted: t.Iterable[str]) -> dict:
    """{'blocking': [...], 'accepted': [...], 'notes': [...], 'report': [...]}: warnings and worse stop a
    release unless accepted by id; each report line names the id, the level and what it means."""
    accepted = set(accepted)
    result: dict[str, list] = {"blocking": [], "accepted": [], "notes": [], "report": []}
    for item in findings(output):
        level = int(item.get("level", 0))
        check_id = item.get("id") or "(no id)"
        plain = PLAIN_WORDS.get(check_id)
        words = "%s (%s%s): %s" % (check_id, LEVELS.get(level, str(level)),
                                   ", " + item["obj"] if item.get("obj") and item["obj"] != "?" else "",
                                   plain or item.get("msg", "").strip())
        if not plain and item.get("hint"):
            words += " Hint: %s" % item["hint"].strip()
        if level < WARNING:
            result["notes"].append(check_id)
        elif check_id in accepted:
            result["accepted"].append(check_id)
            words += " [accepted in django_app_check_deploy_ignore]"
        else:
            result["blocking"].append(check_id)
        result["report"].append(words)
    return result

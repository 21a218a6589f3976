"""Use the site as a person would, in headless Chromium on the lab client (Debian's chromium,
chromium-driver and python3-selenium): log in to the admin, check that its pages are styled by
the stylesheets the S3 server serves over HTTPS, add a poll through the admin (its date shortcuts
come from the admin's JavaScript, also on S3), vote in it on the public pages, and take a
screenshot at each step. The admin password is read from stdin, so it is in no process list.

Prints one JSON object with what it saw; exits non-zero with a message on the first failure.
Chromium resolves only the site's name (to a proxy) and nothing else: no traffic leaves the lab.
Each run starts from nothing: a fresh NSS database (the CAs it trusts) and browser profile, in a
temporary directory removed afterwards, so no earlier run's certificates, cookies or cache count.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def trust(home: pathlib.Path, ca_files: list[str]) -> None:
    """Chromium on Linux trusts the CAs of the NSS database in $HOME/.pki/nssdb, not the system
    bundle: a new one in this run's home, holding these CAs only."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    for ca_file in ca_files:
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", pathlib.Path(ca_file).stem,
                        "-i", ca_file], check=True)


def browser(scratch: pathlib.Path, name: str, proxy: str, allowed: list[str]) -> webdriver.Chrome:
    """Chromium with this run's home (its NSS database) and a new profile, both under scratch."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        f"--user-data-dir={scratch / 'profile'}",
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
        # The site's name goes to the proxy; every other name and address fails to resolve (the
        # rules cover IP literals too), but the allowed ones (the S3 server's).
        "--host-resolver-rules=" + ", ".join([f"MAP {name} {proxy}", "MAP * ~NOTFOUND", *(f"EXCLUDE {a}" for a in allowed)]),
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--disable-client-side-phishing-detection",
        "--disable-features=OptimizationHints,Translate,MediaRouter",
    ):
        options.add_argument(argument)
    # chromedriver passes its environment to Chromium, which finds the NSS database under HOME.
    service = Service(executable_path="/usr/bin/chromedriver", env=dict(os.environ, HOME=str(scratch / "home")))
    return webdriver.Chrome(service=service, options=options)


class Check:
    def __init__(self, driver: webdriver.Chrome, out: pathlib.Path) -> None:
        self.driver, self.out = driver, out
        self.wait = WebDriverWait(driver, 20)
        self.report: dict = {"screenshots": []}

    def screenshot(self, name: str) -> None:
        path = self.out / f"{len(self.report['screenshots']) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.report["screenshots"].append(path.name)

    def at(self, url: str) -> None:
        """Wait until the browser is at exactly url (the whole URL, query included), else fail
        saying where it is instead."""
        try:
            self.wait.until(expected_conditions.url_to_be(url))
        except TimeoutException:
            raise AssertionError(f"expected to be at {url}, but the browser is at {self.driver.current_url}") from None

    def stylesheet(self, fragment: str) -> str:
        """The href of the page's stylesheet whose URL contains fragment."""
        links = self.driver.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")
        hrefs = [link.get_attribute("href") for link in links]
        matching = [href for href in hrefs if fragment in href]
        if not matching:
            raise AssertionError(f"{self.driver.current_url}: no stylesheet with {fragment} among {hrefs}")
        return matching[0]

    def admin_login(self, site: str, username: str, password: str) -> None:
        self.driver.get(f"{site}/admin/login/?next=/admin/")
        self.at(f"{site}/admin/login/?next=/admin/")
        self.report["admin_stylesheet"] = self.stylesheet("admin/css/base.css")
        # Custom properties exist only if base.css was fetched and applied (no fallback sets them).
        self.report["admin_primary_color"] = self.driver.execute_script(
            "return getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()")
        self.report["admin_header_background"] = self.driver.execute_script(
            "return getComputedStyle(document.getElementById('header')).backgroundColor")
        self.screenshot("admin-login")
        self.driver.find_element(By.ID, "id_username").send_keys(username)
        self.driver.find_element(By.ID, "id_password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        # Only a logged-in admin page has the logout form (the login page has the site name too).
        self.wait.until(expected_conditions.presence_of_element_located((By.ID, "logout-form")))
        self.at(f"{site}/admin/")
        self.report["logged_in_at"] = self.driver.current_url
        self.screenshot("admin-index")

    def add_poll(self, site: str, question: str, choices: list[str]) -> None:
        self.driver.get(f"{site}/admin/polls/question/add/")
        self.at(f"{site}/admin/polls/question/add/")
        self.driver.find_element(By.ID, "id_question_text").send_keys(question)
        # The date sits in a collapsed fieldset; its Today/Now links are added by the admin's
        # JavaScript (from S3): without them the form cannot be filled this way.
        for summary in self.driver.find_elements(By.CSS_SELECTOR, "details summary, fieldset.collapse h2 a"):
            summary.click()
        for shortcut in ("Today", "Now"):
            self.wait.until(expected_conditions.element_to_be_clickable((By.LINK_TEXT, shortcut))).click()
        for index, choice in enumerate(choices):
            self.driver.find_element(By.ID, f"id_choice_set-{index}-choice_text").send_keys(choice)
        self.screenshot("admin-add-poll")
        self.driver.find_element(By.NAME, "_save").click()
        message = self.wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".messagelist .success")))
        # Saved: the admin sends the browser to the list of questions.
        self.at(f"{site}/admin/polls/question/")
        self.report["admin_message"] = message.text
        self.screenshot("admin-poll-saved")

    def vote(self, site: str, question: str, choice: str) -> None:
        self.driver.get(f"{site}/polls/")
        self.at(f"{site}/polls/")
        self.report["polls_stylesheet"] = self.stylesheet("polls/style.css")
        self.report["polls_background"] = self.driver.execute_script(
            "return getComputedStyle(document.body).backgroundColor")
        link = self.driver.find_element(By.LINK_TEXT, question)
        # The poll's own page, e.g. https://NAME/polls/7/ (the index links to it by its full URL).
        poll_url = link.get_attribute("href")
        if not poll_url.startswith(f"{site}/polls/") or not poll_url.endswith("/"):
            raise AssertionError(f"{self.driver.current_url}: the link to {question!r} goes to {poll_url}")
        self.report["poll_url"] = poll_url
        link.click()
        self.at(poll_url)
        label = self.wait.until(expected_conditions.presence_of_element_located((By.XPATH, f"//label[text()='{choice}']")))
        self.driver.find_element(By.ID, label.get_attribute("for")).click()
        self.screenshot("poll-detail")
        self.driver.find_element(By.CSS_SELECTOR, "input[type=submit][value=Vote]").click()
        self.at(f"{poll_url}results/")
        self.report["results_url"] = self.driver.current_url
        self.report["results"] = [item.text for item in self.driver.find_elements(By.CSS_SELECTOR, "li")]
        self.screenshot("poll-results")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the site's name, e.g. polls.example.com")
    parser.add_argument("--proxy", required=True, help="the proxy address the name resolves to")
    parser.add_argument("--trust", action="append", default=[], help="a CA certificate (PEM) to trust")
    parser.add_argument("--allow", action="append", default=[], help="another host or address the pages load from")
    parser.add_argument("--username", required=True)
    parser.add_argument("--question", required=True)
    parser.add_argument("--choices", default="Yes,No")
    parser.add_argument("--out", required=True, help="directory for the screenshots")
    args = parser.parse_args()
    password = sys.stdin.readline().rstrip("\n")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    site = f"https://{args.name}"
    # Chromium's helpers may still be writing to the profile as it quits: a cleanup error is no failure.
    with tempfile.TemporaryDirectory(prefix="djangoops-browser-", ignore_cleanup_errors=True) as scratch_dir:
        scratch = pathlib.Path(scratch_dir)
        trust(scratch / "home", args.trust)
        driver = browser(scratch, args.name, args.proxy, args.allow)
        check = Check(driver, out)
        check.report["browser"] = driver.capabilities.get("browserVersion")
        started = time.monotonic()
        try:
            check.admin_login(site, args.username, password)
            choices = args.choices.split(",")
            check.add_poll(site, args.question, choices)
            check.vote(site, args.question, choices[0])
        except (WebDriverException, AssertionError) as error:
            try:
                check.screenshot("failure")
            except WebDriverException:
                pass
            check.report["error"] = "%s at %s: %s" % (type(error).__name__, driver.current_url, getattr(error, "msg", None) or error)
        finally:
            driver.quit()
        check.report["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(check.report))
    return 1 if "error" in check.report else 0


if __name__ == "__main__":
    os.environ.pop("http_proxy", None)
    os.environ.pop("https_proxy", None)
    sys.exit(main())

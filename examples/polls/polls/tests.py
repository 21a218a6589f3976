import datetime
import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase
from django.urls import reverse
from django.utils import timezone

from mysite.env import database_engine, parse_bool, parse_list, require_secret, secret
from polls.middleware import SERVED_BY
from polls.models import Question

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "mysite" / "settings.py"


def create_question(question_text: str, days: int) -> Question:
    """A question published `days` from now: negative in the past, positive to come."""
    time = timezone.now() + datetime.timedelta(days=days)
    return Question.objects.create(question_text=question_text, pub_date=time)


def load_settings(**environ: str) -> ModuleType:
    """Run settings.py afresh under exactly `environ`, without touching the live settings."""
    spec = importlib.util.spec_from_file_location("settings_under_test", SETTINGS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, environ, clear=True):
        spec.loader.exec_module(module)
    return module


class QuestionModelTests(TestCase):
    def test_was_published_recently_with_future_question(self) -> None:
        time = timezone.now() + datetime.timedelta(days=30)
        self.assertIs(Question(pub_date=time).was_published_recently(), False)

    def test_was_published_recently_with_old_question(self) -> None:
        time = timezone.now() - datetime.timedelta(days=1, seconds=1)
        self.assertIs(Question(pub_date=time).was_published_recently(), False)

    def test_was_published_recently_with_recent_question(self) -> None:
        time = timezone.now() - datetime.timedelta(hours=23, minutes=59, seconds=59)
        self.assertIs(Question(pub_date=time).was_published_recently(), True)


class QuestionIndexViewTests(TestCase):
    def test_no_questions(self) -> None:
        response = self.client.get(reverse("polls:index"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "No polls are available.")
        self.assertQuerySetEqual(response.context["latest_question_list"], [])

    def test_past_question(self) -> None:
        question = create_question("Past question.", days=-30)
        response = self.client.get(reverse("polls:index"))
        self.assertQuerySetEqual(response.context["latest_question_list"], [question])

    def test_future_question(self) -> None:
        create_question("Future question.", days=30)
        response = self.client.get(reverse("polls:index"))
        self.assertContains(response, "No polls are available.")
        self.assertQuerySetEqual(response.context["latest_question_list"], [])

    def test_future_question_and_past_question(self) -> None:
        question = create_question("Past question.", days=-30)
        create_question("Future question.", days=30)
        response = self.client.get(reverse("polls:index"))
        self.assertQuerySetEqual(response.context["latest_question_list"], [question])

    def test_two_past_questions(self) -> None:
        question1 = create_question("Past question 1.", days=-30)
        question2 = create_question("Past question 2.", days=-5)
        response = self.client.get(reverse("polls:index"))
        self.assertQuerySetEqual(response.context["latest_question_list"], [question2, question1])


class QuestionDetailViewTests(TestCase):
    def test_future_question(self) -> None:
        future_question = create_question("Future question.", days=5)
        response = self.client.get(reverse("polls:detail", args=(future_question.id,)))
        self.assertEqual(response.status_code, 404)

    def test_past_question(self) -> None:
        past_question = create_question("Past Question.", days=-5)
        response = self.client.get(reverse("polls:detail", args=(past_question.id,)))
        self.assertContains(response, past_question.question_text)


class VoteViewTests(TestCase):
    def test_vote_counts_and_redirects_to_results(self) -> None:
        question = create_question("Vote?", days=-1)
        choice = question.choice_set.create(choice_text="Yes")
        response = self.client.post(reverse("polls:vote", args=(question.id,)), {"choice": choice.id})
        self.assertRedirects(response, reverse("polls:results", args=(question.id,)))
        choice.refresh_from_db()
        self.assertEqual(choice.votes, 1)

    def test_vote_without_choice_shows_error(self) -> None:
        question = create_question("Vote?", days=-1)
        response = self.client.post(reverse("polls:vote", args=(question.id,)), {})
        self.assertContains(response, "You didn&#x27;t select a choice.")


class ServedByTests(TestCase):
    def test_header_names_the_host(self) -> None:
        response = self.client.get(reverse("polls:index"))
        self.assertEqual(response["X-Served-By"], SERVED_BY)
        self.assertTrue(SERVED_BY)

    def test_header_on_not_found(self) -> None:
        response = self.client.get("/")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["X-Served-By"], SERVED_BY)


class HealthTests(TestCase):
    def test_the_process_check_runs_no_query(self) -> None:
        with self.assertNumQueries(0):
            response = self.client.get("/healthz/")
        self.assertEqual((response.status_code, response.content), (200, b"ok\n"))
        self.assertIn("no-cache", response["Cache-Control"])

    def test_the_database_check_runs_one_query(self) -> None:
        with self.assertNumQueries(1):
            response = self.client.get("/healthz/db/")
        self.assertEqual((response.status_code, response.content), (200, b"ok database\n"))

    def test_an_unreachable_database_is_a_503(self) -> None:
        from django.db import OperationalError

        with mock.patch("mysite.health.connection.cursor", side_effect=OperationalError("refused")):
            response = self.client.get("/healthz/db/")
        self.assertEqual((response.status_code, response.content), (503, b"database unavailable: OperationalError\n"))


class AppVersionTests(TestCase):
    def test_header_names_the_release_when_the_image_has_one(self) -> None:
        from polls import middleware

        original = middleware.APP_VERSION
        self.addCleanup(setattr, middleware, "APP_VERSION", original)
        middleware.APP_VERSION = "1.2.3"
        self.assertEqual(self.client.get(reverse("polls:index"))["X-App-Version"], "1.2.3")
        middleware.APP_VERSION = ""
        self.assertNotIn("X-App-Version", self.client.get(reverse("polls:index")))


class EnvParsingTests(SimpleTestCase):
    def test_parse_bool_false_values(self) -> None:
        for value in ("False", "false", "", "0", "no", "off", None):
            with self.subTest(value=value):
                self.assertIs(parse_bool(value), False)

    def test_parse_bool_true_values(self) -> None:
        for value in ("True", "true", "1", "yes", "ON", " on "):
            with self.subTest(value=value):
                self.assertIs(parse_bool(value), True)

    def test_parse_list(self) -> None:
        self.assertEqual(parse_list("a.example, b.example,,"), ["a.example", "b.example"])
        self.assertEqual(parse_list(""), [])
        self.assertEqual(parse_list(None), [])

    def test_database_engine(self) -> None:
        cases = {
            "postgresql_psycopg2": "django.db.backends.postgresql",
            "django.db.backends.postgresql_psycopg2": "django.db.backends.postgresql",
            "postgresql": "django.db.backends.postgresql",
            "sqlite3": "django.db.backends.sqlite3",
            "mysql": "django.db.backends.mysql",
            "django.db.backends.sqlite3": "django.db.backends.sqlite3",
            "custom.backend": "custom.backend",
        }
        for value, expected in cases.items():
            with self.subTest(value=value):
                self.assertEqual(database_engine(value), expected)


class SecretTests(SimpleTestCase):
    """NAME_FILE first (the file djangoops.fleet's django_app_secret_files writes), else NAME."""

    def _file(self, content: str) -> str:
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".secret", delete=False)
        with handle:
            handle.write(content)
        self.addCleanup(os.unlink, handle.name)
        return handle.name

    def test_the_file_wins_over_the_variable(self) -> None:
        path = self._file("from-the-file")
        with mock.patch.dict(os.environ, {"DATABASE_PASSWORD": "from-env", "DATABASE_PASSWORD_FILE": path}, clear=True):
            self.assertEqual(secret("DATABASE_PASSWORD"), "from-the-file")

    def test_one_trailing_newline_is_dropped_other_whitespace_kept(self) -> None:
        for content, expected in (("s3cret\n", "s3cret"), ("s3cret\r\n", "s3cret"), (" s3 cret \n\n", " s3 cret \n"),
                                  ("s3cret", "s3cret")):
            with self.subTest(content=content):
                with mock.patch.dict(os.environ, {"X_FILE": self._file(content)}, clear=True):
                    self.assertEqual(secret("X"), expected)

    def test_without_a_file_the_variable_counts(self) -> None:
        for environ, expected in (({"X": "from-env"}, "from-env"), ({"X": "", "X_FILE": ""}, None), ({}, None)):
            with self.subTest(environ=environ):
                with mock.patch.dict(os.environ, environ, clear=True):
                    self.assertEqual(secret("X"), expected)

    def test_an_unreadable_file_names_the_path_not_a_value(self) -> None:
        with mock.patch.dict(os.environ, {"X": "from-env", "X_FILE": "/nonexistent/X"}, clear=True):
            with self.assertRaisesMessage(ImproperlyConfigured, "X_FILE=/nonexistent/X: cannot read the file"):
                secret("X")

    def test_a_required_secret_that_is_empty_is_an_error(self) -> None:
        with mock.patch.dict(os.environ, {"DJANGO_SECRET_KEY_FILE": self._file("\n")}, clear=True):
            with self.assertRaisesMessage(ImproperlyConfigured, "DJANGO_SECRET_KEY"):
                require_secret("DJANGO_SECRET_KEY")

    def test_the_settings_read_every_secret_from_its_file(self) -> None:
        settings = load_settings(
            DJANGO_SECRET_KEY_FILE=self._file("key-from-file\n"),
            DATABASE_PASSWORD_FILE=self._file("db-from-file"),
            STATIC_BUCKET_NAME="polls-static",
            STATIC_ENDPOINT_URL="https://s3.example.test/",
            STATIC_SECRET_KEY_FILE=self._file("s3-from-file"),
            CELERY_BROKER_URL_FILE=self._file("redis://:pw@redis.internal:6379/1"),
        )
        self.assertEqual(settings.SECRET_KEY, "key-from-file")
        self.assertEqual(settings.DATABASES["default"]["PASSWORD"], "db-from-file")
        self.assertEqual(settings.STORAGES["staticfiles"]["OPTIONS"]["secret_key"], "s3-from-file")
        self.assertEqual(settings.CELERY_BROKER_URL, "redis://:pw@redis.internal:6379/1")
        self.assertEqual(settings.CELERY_RESULT_BACKEND, "redis://:pw@redis.internal:6379/1")


class SettingsTests(SimpleTestCase):
    def test_missing_secret_key_raises(self) -> None:
        for environ in ({}, {"DJANGO_SECRET_KEY": ""}):
            with self.subTest(environ=environ):
                with self.assertRaisesMessage(ImproperlyConfigured, "DJANGO_SECRET_KEY"):
                    load_settings(**environ)

    def test_debug_false_string_is_false(self) -> None:
        settings = load_settings(DJANGO_SECRET_KEY="x", DEBUG="False")
        self.assertIs(settings.DEBUG, False)
        self.assertIs(settings.SESSION_COOKIE_SECURE, True)
        self.assertIs(settings.CSRF_COOKIE_SECURE, True)

    def test_legacy_engine(self) -> None:
        settings = load_settings(DJANGO_SECRET_KEY="x", DATABASE_ENGINE="postgresql_psycopg2")
        self.assertEqual(settings.DATABASES["default"]["ENGINE"], "django.db.backends.postgresql")

    def test_no_proxy_header_trust(self) -> None:
        settings = load_settings(DJANGO_SECRET_KEY="x")
        self.assertFalse(hasattr(settings, "SECURE_PROXY_SSL_HEADER"))
        self.assertIs(settings.USE_X_FORWARDED_HOST, False)

    def test_local_static_without_bucket(self) -> None:
        settings = load_settings(DJANGO_SECRET_KEY="x")
        self.assertEqual(
            settings.STORAGES["staticfiles"]["BACKEND"],
            "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
        self.assertEqual(settings.STATIC_URL, "static/")

    def test_s3_static_with_bucket(self) -> None:
        settings = load_settings(
            DJANGO_SECRET_KEY="x",
            STATIC_BUCKET_NAME="polls-static",
            STATIC_ENDPOINT_URL="https://s3.example.test/",
            STATIC_ACCESS_KEY_ID="key",
            STATIC_SECRET_KEY="secret",
        )
        staticfiles = settings.STORAGES["staticfiles"]
        self.assertEqual(staticfiles["BACKEND"], "storages.backends.s3.S3Storage")
        self.assertEqual(
            staticfiles["OPTIONS"],
            {
                "access_key": "key",
                "secret_key": "secret",
                "bucket_name": "polls-static",
                "endpoint_url": "https://s3.example.test",
                "region_name": None,
                "location": "static",
                "default_acl": None,
                "querystring_auth": False,
                "file_overwrite": True,
                "addressing_style": "path",
            },
        )
        self.assertEqual(settings.STATIC_URL, "https://s3.example.test/polls-static/static/")
        self.assertEqual(
            settings.STORAGES["default"]["BACKEND"], "django.core.files.storage.FileSystemStorage"
        )

    def test_bucket_without_endpoint_raises(self) -> None:
        with self.assertRaisesMessage(ImproperlyConfigured, "STATIC_ENDPOINT_URL"):
            load_settings(DJANGO_SECRET_KEY="x", STATIC_BUCKET_NAME="polls-static")


class TaskEndpointTests(TestCase):
    def test_the_web_does_not_load_celery_until_a_task_endpoint_is_asked(self) -> None:
        import subprocess
        import sys

        script = "import django, sys; django.setup(); import mysite.urls; print('celery' in sys.modules)"
        loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                env=dict(os.environ, DJANGO_SETTINGS_MODULE="mysite.settings"))
        self.assertEqual(loaded.stdout.strip(), "False")

    def test_without_a_broker_the_endpoints_say_so(self) -> None:
        with self.settings(CELERY_BROKER_URL=None):
            response = self.client.post("/tasks/echo/", {"tag": "a"})
            self.assertEqual(response.status_code, 503)
            self.assertIn("CELERY_BROKER_URL", response.json()["error"])
            self.assertEqual(self.client.get("/tasks/0f3e/").status_code, 503)

    def test_a_queued_echo_answers_its_id_and_the_task_names_its_worker_and_release(self) -> None:
        from mysite.celery import app  # noqa: F401  (as the endpoint does: the shared task binds to it)
        from polls.tasks import echo

        with self.settings(CELERY_BROKER_URL="memory://"):
            with mock.patch.object(echo, "delay", return_value=mock.Mock(id="abc")) as delay:
                response = self.client.post("/tasks/echo/", {"tag": "first", "seconds": "0.5"})
        self.assertEqual((response.status_code, response.json()), (202, {"id": "abc"}))
        delay.assert_called_once_with("first", 0.5)
        with mock.patch.dict(os.environ, {"APP_VERSION": "9.9.9"}):
            done = echo.run("second", 0)
        self.assertEqual(done, {"tag": "second", "worker": __import__("socket").gethostname(), "release": "9.9.9"})

    def test_seconds_must_be_a_number(self) -> None:
        with self.settings(CELERY_BROKER_URL="memory://"):
            self.assertEqual(self.client.post("/tasks/echo/", {"seconds": "soon"}).status_code, 400)

    def test_the_schedule_names_the_host_the_scheduler_runs_on(self) -> None:
        settings = load_settings(DJANGO_SECRET_KEY="x", CELERY_BROKER_URL="redis://r:6379/1", CELERY_HEARTBEAT_SECONDS="2")
        beat = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
        self.assertEqual((beat["schedule"], beat["args"]), (2.0, (__import__("socket").gethostname(),)))
        self.assertEqual(settings.CELERY_RESULT_BACKEND, "redis://r:6379/1")

import pytest
from django.db import connection
from django.test import Client

from minqing.audit.triggers import create_triggers, drop_triggers
from minqing.lib import workdays
from minqing.testing import build_cast


@pytest.fixture(autouse=True)
def _fast_settings(settings):
    """Fast, HTTP-friendly settings for tests; everything else is the real configuration."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Background tasks (the roll import) run inline, within the request that enqueues them.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _plain_weeks_after_the_library(request):
    """Deadlines count working days, and the product refuses a year whose holidays nobody has
    entered (lib/workdays.py). So that a test does not start failing each December when its
    deadlines reach into the next year, a year after the holiday library's last one that the
    test database does not hold counts here as plain weeks (Monday to Friday, no holidays).
    Tests about the calendar itself opt out with ``@pytest.mark.real_calendar``."""
    real = workdays._source
    if request.node.get_closest_marker("real_calendar") or real is None:
        yield
        return

    def source(year: int):
        days = real(year)
        return {} if days is None and year > workdays.LIB_LAST_YEAR else days

    workdays.register_year_source(source)
    yield
    workdays.register_year_source(real)


@pytest.fixture
def cast(db):
    return build_cast()


@pytest.fixture
def client_for(db):
    """``client_for(user)``: a test client signed in as ``user``."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


# A transactional test (live_server) ends by emptying every table, which the audit log's
# append-only triggers refuse. ``flushable_db`` lifts them for that flush only: it drops them
# just before the flush; the module fixture, torn down after pytest-django's database helper
# (which live_server's autouse helper sets up before any fixture of ours), puts them back.
@pytest.fixture(scope="module")
def _audit_triggers_restored(django_db_setup, django_db_blocker):
    yield
    with django_db_blocker.unblock():
        create_triggers(connection)


@pytest.fixture
def flushable_db(_audit_triggers_restored, transactional_db):
    yield
    drop_triggers(connection)

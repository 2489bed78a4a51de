import pytest
from django.test import Client

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


@pytest.fixture
def _audit_triggers_restored(django_db_blocker):
    """Outer half of ``flushable_db``: puts the append-only triggers back after the flush."""
    yield
    from django.db import connection

    from minqing.audit.triggers import create_triggers

    with django_db_blocker.unblock():
        create_triggers(connection)


@pytest.fixture
def flushable_db(_audit_triggers_restored, transactional_db):
    """A transactional database (for ``live_server``) whose end-of-test flush may empty the
    append-only audit table: the triggers are dropped just before the flush and restored
    right after it, so every other test still runs against them."""
    yield
    from django.db import connection

    from minqing.audit.triggers import drop_triggers

    drop_triggers(connection)

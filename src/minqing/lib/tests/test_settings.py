"""Settings read from the environment, in a fresh interpreter (the test run's own settings are
already loaded)."""

import os
import subprocess
import sys


def _settings_value(expression: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MINQING_VAR_DIR")}
    environ.update(env, DJANGO_SETTINGS_MODULE="minqing.settings")
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_the_sqlite_database_lives_in_the_var_dir(tmp_path):
    """MINQING_VAR_DIR is where the local state lives, the database included: a second demo
    with its own var dir must not write into the checkout's database."""
    name = _settings_value('settings.DATABASES["default"]["NAME"]', MINQING_VAR_DIR=str(tmp_path))
    assert name == str(tmp_path / "minqing.sqlite3")


def test_database_url_still_wins(tmp_path):
    name = _settings_value(
        'settings.DATABASES["default"]["NAME"]',
        MINQING_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/elsewhere.sqlite3",
    )
    assert name == f"{tmp_path}/elsewhere.sqlite3"

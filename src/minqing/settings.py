"""The one settings module. Everything that differs between machines comes from the
environment (see README, "Configuration"); nothing exists only in production."""

from pathlib import Path

from minqing.lib.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    secret_from_file,
)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(env_str("MINQING_HOME", str(PACKAGE_DIR.parent.parent)))
VAR_DIR = Path(env_str("MINQING_VAR_DIR", str(PROJECT_DIR / "var")))
NODE_MODULES = Path(env_str("MINQING_NODE_MODULES", str(PROJECT_DIR / "node_modules")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or secret_from_file(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Served over HTTPS in production; the local demo sets MINQING_HTTPS=0.
HTTPS = env_bool("MINQING_HTTPS", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("MINQING_SESSION_SECONDS", 8 * 3600)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("MINQING_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
# Content-Security-Policy: no inline script or style anywhere (see web/middleware.py).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)

# Failed logins before an account is locked, and for how long.
LOGIN_MAX_FAILURES = env_int("MINQING_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCK_MINUTES = env_int("MINQING_LOGIN_LOCK_MINUTES", 15)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "template_partials",
    # /api/docs from ninja's bundled Swagger UI instead of a CDN, which the CSP refuses.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "minqing.regions",
    "minqing.accounts",
    "minqing.audit",
    "minqing.households",
    "minqing.outreach",
    "minqing.cases",
    "minqing.relief",
    "minqing.web",
    "minqing.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "minqing.web.middleware.security_headers",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "minqing.web.middleware.chosen_language",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "minqing.audit.middleware.web_audit_context",
]

ROOT_URLCONF = "minqing.urls"
WSGI_APPLICATION = "minqing.wsgi.application"
# Widgets (the region picker) render from our templates too.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "minqing.web.nav.navigation",
            ],
        },
    }
]

DATABASES = {
    # Without DATABASE_URL the database is local state too: it lives in MINQING_VAR_DIR.
    "default": database_from_url(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR.resolve() / 'minqing.sqlite3'}",
        base_dir=PROJECT_DIR,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["minqing.accounts.backends.LockoutBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "minqing.accounts.validators.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded files (visit photos, signatures) go through Django's storage API; they hold personal
# data, so there is no MEDIA_URL: the app serves each file after checking the reader's scope.
MEDIA_ROOT = VAR_DIR / "media"
OUTREACH_PHOTO_MAX_BYTES = env_int("MINQING_PHOTO_MAX_BYTES", 5 * 1024 * 1024)
STATICFILES_DIRS = [
    PACKAGE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
# Serve straight from the finders, so a fresh checkout needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

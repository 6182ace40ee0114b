"""Configuration, read from the environment in one place. Every variable is listed in the README."""

import os
import secrets
from datetime import timedelta

from flask_appbuilder.const import AUTH_DB
from flask_babel import lazy_gettext as _l

DEFAULT_DEMO_PASSWORD = "portal-demo-2026"  # printed in the README: a server database refuses it (portal.startup)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _login_limit() -> str:
    """Read per request, so that the limit can be changed without rebuilding the app (tests do)."""
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


class Config:
    """Production defaults; every secret comes from the environment."""

    APP_NAME = _l("Regulation Portal")  # lazy: the navbar shows it in the user's language
    APP_ICON = ""
    MONGODB_URI = os.environ.get("MONGODB_URI") or None  # None: embedded in-memory store with demo data
    MONGODB_DB = os.environ.get("PORTAL_DB_NAME", "portal")
    MONGODB_TIMEOUT_MS = _env_int("PORTAL_DB_TIMEOUT_MS", 5000)
    SECRET_KEY = os.environ.get("PORTAL_SECRET_KEY") or secrets.token_hex(32)  # random: sessions end at restart
    SECRET_KEY_FROM_ENV = bool(os.environ.get("PORTAL_SECRET_KEY"))
    DEMO_PASSWORD = os.environ.get("PORTAL_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
    # a server database with a published key or password: "raise" in create_app, "report" (the portal command), "off"
    START_REFUSAL = "raise"
    # BRD 9(2)2: confidential files and backups are encrypted with it; required with a server database (portal.crypto)
    FILE_KEY = os.environ.get("PORTAL_FILE_KEY", "")

    # Authentication (FAB) -----------------------------------------------------------------
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False  # self-registration off (SECURITY.md)
    FAB_ADD_SECURITY_PERMISSION_VIEW = False  # roles are data, applied by `portal sync-roles`
    FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
    FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
    FAB_ADD_MENU_API = False
    FAB_API_SWAGGER_UI = False
    FAB_UPDATE_PERMS = True
    FAB_PASSWORD_HASH_METHOD = "scrypt"
    AUTH_RATE_LIMITED = True
    LOGIN_RATE_LIMIT = os.environ.get("PORTAL_LOGIN_RATE_LIMIT", "10 per minute")  # per IP, every login path
    AUTH_RATE_LIMIT = _login_limit
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("PORTAL_RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LOCKOUT_FAILURES = _env_int("PORTAL_LOGIN_LOCKOUT_FAILURES", 5)
    LOGIN_LOCKOUT_MINUTES = _env_int("PORTAL_LOGIN_LOCKOUT_MINUTES", 15)

    # Sessions --------------------------------------------------------------------------------
    SESSION_IDLE_MINUTES = _env_int("PORTAL_SESSION_IDLE_MINUTES", 30)
    SESSION_MAX_HOURS = _env_int("PORTAL_SESSION_MAX_HOURS", 10)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_MAX_HOURS)
    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # HTTPS-only cookies with a real server; the embedded demo store is served by `portal run` over plain http
    SESSION_COOKIE_SECURE = _env_bool("PORTAL_SECURE_COOKIES", bool(MONGODB_URI))
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the session's own timeouts bound the token's life
    # F6: never let the Host header decide where `next` may point; set your portal's host names here
    FAB_SAFE_REDIRECT_HOSTS = [h for h in os.environ.get("PORTAL_SAFE_REDIRECT_HOSTS",
                                                         "localhost,127.0.0.1").split(",") if h]
    HSTS = _env_bool("PORTAL_HSTS", True)
    PREFERRED_URL_SCHEME = "https" if SESSION_COOKIE_SECURE else "http"  # links built outside a request
    PROXY_COUNT = _env_int("PORTAL_PROXY_COUNT", 0)  # reverse proxies in front (nginx: 1): X-Forwarded-* believed

    # Limits ----------------------------------------------------------------------------------
    MAX_CONTENT_LENGTH = _env_int("PORTAL_MAX_UPLOAD_MB", 10) * 1024 * 1024
    PAGE_SIZE_MAX = 100
    IMPORT_BACKGROUND_ROWS = _env_int("PORTAL_IMPORT_BACKGROUND_ROWS", 500)  # a longer import runs in a thread
    EXPORT_MAX_ROWS = _env_int("PORTAL_EXPORT_MAX_ROWS", 50000)  # a longer list must be filtered before export

    # i18n --------------------------------------------------------------------------------------
    LANGUAGES = {"en": {"flag": "gb", "name": "English"}, "zh": {"flag": "cn", "name": "简体中文"}}
    BABEL_DEFAULT_LOCALE = os.environ["PORTAL_LOCALE"] if os.environ.get("PORTAL_LOCALE") in ("en", "zh") else "en"
    BABEL_TRANSLATION_DIRECTORIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations")

    TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "Asia/Shanghai")  # "today" for deadlines and leave dates

    # Notifications by e-mail: off unless a host is given ------------------------------------------
    SMTP_HOST = os.environ.get("PORTAL_SMTP_HOST", "")
    SMTP_PORT = _env_int("PORTAL_SMTP_PORT", 587)
    SMTP_USER = os.environ.get("PORTAL_SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("PORTAL_SMTP_PASSWORD", "")
    SMTP_STARTTLS = _env_bool("PORTAL_SMTP_STARTTLS", True)
    SMTP_TIMEOUT = _env_int("PORTAL_SMTP_TIMEOUT", 10)
    MAIL_FROM = os.environ.get("PORTAL_MAIL_FROM", "portal@localhost")
    PUBLIC_URL = os.environ.get("PORTAL_PUBLIC_URL", "http://localhost:8080").rstrip("/")  # links in e-mails

    SEED_DEMO = _env_bool("PORTAL_SEED_DEMO", False)  # also load demo data into a real database at start


class TestConfig(Config):
    """Tests: mongomock unless PORTAL_TEST_MONGODB_URI names a real server; fast password hashing."""

    TESTING = True
    SECRET_KEY = "test-only-secret-key-of-at-least-32-bytes!!"
    SECRET_KEY_FROM_ENV = True
    MONGODB_URI = os.environ.get("PORTAL_TEST_MONGODB_URI") or None
    MONGODB_DB = os.environ.get("PORTAL_TEST_DB_NAME", "portal_test")
    FAB_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # speed only; production keeps scrypt
    SESSION_COOKIE_SECURE = False
    LOGIN_RATE_LIMIT = "100000 per minute"  # the throttling test lowers it for itself
    SEED_DEMO = True
    DEMO_PASSWORD = "portal-demo-2026"
    START_REFUSAL = "off"  # a fixed key and the demo password on purpose, also on PORTAL_TEST_MONGODB_URI
    FILE_KEY = "4znpyKAK_AYICEBsgS7pZIYzcsSVuyPJU77fM6Kgtnk="  # tests only: a fixed key, also on a real server

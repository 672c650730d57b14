"""SecondMind settings, read from the environment (the configuration tables are in docs/operations.md)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from training.policy import Policy, parsed

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default, kind, choices=()):
    """os.environ[name] (or `default`) as a `kind`, one of `choices` if given; a value that does not parse
    stops the start-up, saying why."""
    value = parsed(name, os.environ.get(name, default), kind)
    if choices and value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not valid: use {' or '.join(choices)}.")
    return value


DATA_DIR = Path(os.environ.get("SECONDMIND_DATA_DIR", BASE_DIR / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)


def _private_file(path):
    """Create `path` readable by this user alone (it holds sessions and password hashes); SQLite gives
    its -wal and -shm files the same mode."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _secret_key():
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env("DEBUG", "false", bool)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
CSRF_TRUSTED_ORIGINS = [origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_q",
    "axes",
    "ninja",  # Swagger UI from our own static files, so the API docs work offline
    "training",
    "interactions",
    "secondmind",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "secondmind.middleware.DatabaseBusyMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): after SECONDMIND_LOGIN_FAILURES wrong passwords for one username from
# one address, that pair is locked out for SECONDMIND_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env("SECONDMIND_LOGIN_FAILURES", "10", int)
AXES_COOLOFF_TIME = env("SECONDMIND_LOGIN_COOLOFF_MINUTES", "15", float) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Requests a minute one API token may make (0: no limit); over it, 429 with Retry-After.
SECONDMIND_API_RATE_LIMIT = env("SECONDMIND_API_RATE_LIMIT", "600", int)

ROOT_URLCONF = "secondmind.urls"
WSGI_APPLICATION = "secondmind.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default. The web process and the worker write the same file: WAL lets readers run beside
# a writer, IMMEDIATE transactions take the write lock up front and the timeout waits for it instead
# of failing with "database is locked".
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'secondmind.sqlite3'}"),
        conn_max_age=env("DATABASE_CONN_MAX_AGE", "0", int),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
    _private_file(DATABASES["default"]["NAME"])
    # A file, not memory, so that a real django-q2 worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
MEDIA_ROOT = Path(os.environ.get("SECONDMIND_MEDIA_DIR", DATA_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# django-q2: the database is the broker unless REDIS_URL names a Redis server.
Q_CLUSTER = {
    "name": "secondmind",
    "workers": env("SECONDMIND_WORKERS", "1", int),
    "timeout": env("SECONDMIND_TRAINING_TIMEOUT", "3600", int),
    "retry": env("SECONDMIND_TRAINING_TIMEOUT", "3600", int) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "orm": "default",
    "poll": 0.5,
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]

# The cache holds the per-token rate counts and the webhook's queue flag: per process by default, shared
# by every process and machine when CACHE_URL names a Redis database.
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"run_id": {"()": "training.logs.RunIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s%(run)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["run_id"], "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- SecondMind ------------------------------------------------------------------------------------
SECONDMIND_MAX_PROMPT_CHARS = env("SECONDMIND_MAX_PROMPT_CHARS", "2000", int)
# Concurrent classify calls in a web process share the encoder's forward passes (training/batching.py);
# the embedding thread waits this long for more prompts after the first of a batch (0: it never waits).
SECONDMIND_BATCH_WINDOW_MS = env("SECONDMIND_BATCH_WINDOW_MS", "0", float)
# What runs the encoder's forward pass: torch, or ONNX Runtime on the same weights (same vectors, faster
# on a CPU: `manage.py benchmark_backends`). Training and fine-tuning use torch either way.
SECONDMIND_ENCODER_BACKEND = env("SECONDMIND_ENCODER_BACKEND", "torch", str, choices=("torch", "onnx"))
SECONDMIND_SEED_FILE = Path(os.environ.get("SECONDMIND_SEED_FILE", BASE_DIR / "seed" / "intentions_base.jsonl"))

# The learning policy (training/policy.py): the gate, certificate, training, self-training, promotion and
# review knobs, each read from its SECONDMIND_* variable and checked here, at start-up.
SECONDMIND_POLICY = Policy.from_environ(os.environ)
SECONDMIND_RETRAIN_CRON = os.environ.get("SECONDMIND_RETRAIN_CRON", "0 3 * * 0")

# Where training finds the unlabelled prompts it learns from: a function of the most to return, giving
# their vectors. A dotted path, so that training/ never imports the app that stores them.
SECONDMIND_TRAFFIC_SOURCE = "interactions.traffic.unlabelled_traffic"
# The prompts people rejected, with their vectors: the human data a run's scope is calibrated from.
SECONDMIND_REJECTED_SOURCE = "interactions.rejections.rejected_traffic"
# How many prompts arrived since an id: the traffic trigger's count (a dotted path for the same reason).
SECONDMIND_TRAFFIC_COUNT = "interactions.traffic.traffic_since"
SECONDMIND_STALE_RUN_MINUTES = env("SECONDMIND_STALE_RUN_MINUTES", "2", int)
# A JSON POST to this URL when a version becomes active, a run fails, or the review queue reaches
# SECONDMIND_WEBHOOK_QUEUE_SIZE items (0: never); empty: no webhook.
SECONDMIND_WEBHOOK_URL = os.environ.get("SECONDMIND_WEBHOOK_URL", "")
SECONDMIND_WEBHOOK_QUEUE_SIZE = env("SECONDMIND_WEBHOOK_QUEUE_SIZE", "500", int)

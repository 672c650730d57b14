"""SecondMind settings, read from the environment (see the configuration table in README.md)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def env(name, default, parse, allowed):
    """os.environ[name] (or `default`) parsed; a value that does not parse stops the start-up, saying why."""
    raw = os.environ.get(name, default)
    try:
        return parse(raw.strip())
    except (KeyError, ValueError):
        raise ImproperlyConfigured(f"{name}={raw!r} is not valid: use {allowed}.") from None


def envbool(name, default):
    return env(name, default, lambda raw: BOOLEANS[raw.lower()], "true/false, yes/no, on/off or 1/0")


def envint(name, default):
    return env(name, default, int, "a whole number")


def envfloat(name, default):
    return env(name, default, float, "a number")


def envchoice(name, default, choices):
    def one_of(raw):
        if raw not in choices:
            raise ValueError(raw)
        return raw

    return env(name, default, one_of, " or ".join(choices))


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
DEBUG = envbool("DEBUG", "false")
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
AXES_FAILURE_LIMIT = envint("SECONDMIND_LOGIN_FAILURES", "10")
AXES_COOLOFF_TIME = envfloat("SECONDMIND_LOGIN_COOLOFF_MINUTES", "15") / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Requests a minute one API token may make (0: no limit); over it, 429 with Retry-After.
SECONDMIND_API_RATE_LIMIT = envint("SECONDMIND_API_RATE_LIMIT", "600")

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
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", "0"),
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
    "workers": envint("SECONDMIND_WORKERS", "1"),
    "timeout": envint("SECONDMIND_TRAINING_TIMEOUT", "3600"),
    "retry": envint("SECONDMIND_TRAINING_TIMEOUT", "3600") + 60,
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
SECONDMIND_MAX_PROMPT_CHARS = envint("SECONDMIND_MAX_PROMPT_CHARS", "2000")
SECONDMIND_SEED_FILE = Path(os.environ.get("SECONDMIND_SEED_FILE", BASE_DIR / "seed" / "intentions_base.jsonl"))

# Quality gate (the original design's defaults).
SECONDMIND_GATE_MIN_CHARS = envint("SECONDMIND_GATE_MIN_CHARS", "10")
SECONDMIND_GATE_MIN_WORDS = envint("SECONDMIND_GATE_MIN_WORDS", "3")
SECONDMIND_GATE_COMMANDS = os.environ.get("SECONDMIND_GATE_COMMANDS", "!!!,+1,-1").split(",")
# A head whose confidence is below this answers "Unknown".
SECONDMIND_UNKNOWN_THRESHOLD = envfloat("SECONDMIND_UNKNOWN_THRESHOLD", "0.4")
# Off: nothing is learned without a person (every non-noise prompt goes to review).
SECONDMIND_AUTO_ACCEPT = envbool("SECONDMIND_AUTO_ACCEPT", "true")
# "certified": auto-accept only where a rule's precision was certified on human-labelled data (see
# training/calibration.py); "fixed": every head at or above SECONDMIND_ACCEPT_THRESHOLD, the original
# design's rule, which DESIGN.md measured to poison the model. Kept to compare against.
SECONDMIND_AUTO_ACCEPT_RULE = envchoice("SECONDMIND_AUTO_ACCEPT_RULE", "certified", ("certified", "fixed"))
SECONDMIND_ACCEPT_THRESHOLD = envfloat("SECONDMIND_ACCEPT_THRESHOLD", "0.9")
# The precision an auto-accept rule must reach (one-sided 95% lower bound) over enough examples.
SECONDMIND_AUTO_PRECISION_TARGET = envfloat("SECONDMIND_AUTO_PRECISION_TARGET", "0.95")
# Thresholds are tested on accepted sets of this many evidence items, then twice as many, and so on.
# Every retrain certifies anew, so each certificate may be wrong only 5% of the time. At that confidence
# a step under 52 items can never pass (training/checks.py warns).
SECONDMIND_CERTIFY_STEP = envint("SECONDMIND_CERTIFY_STEP", "60")
SECONDMIND_CERTIFY_CONFIDENCE = envfloat("SECONDMIND_CERTIFY_CONFIDENCE", "0.95")
# A prompt with no human-labelled example at least this similar is out of scope: never auto-accepted.
SECONDMIND_GATE_SCOPE_SIMILARITY = envfloat("SECONDMIND_GATE_SCOPE_SIMILARITY", "0.6")

# Training.
SECONDMIND_HOLDOUT_FRACTION = envfloat("SECONDMIND_HOLDOUT_FRACTION", "0.2")
SECONDMIND_RETRAIN_THRESHOLD = envint("SECONDMIND_RETRAIN_THRESHOLD", "100")
SECONDMIND_RETRAIN_CRON = os.environ.get("SECONDMIND_RETRAIN_CRON", "0 3 * * 0")
SECONDMIND_NEAR_DUPLICATE_SIMILARITY = envfloat("SECONDMIND_NEAR_DUPLICATE_SIMILARITY", "0.95")
SECONDMIND_PROMOTION_TOLERANCE = envfloat("SECONDMIND_PROMOTION_TOLERANCE", "0.05")
# How sure the holdout must make us that a candidate's log-loss is lower before it goes live (see README).
SECONDMIND_PROMOTION_CONFIDENCE = envfloat("SECONDMIND_PROMOTION_CONFIDENCE", "0.95")
# Self-training: each training run also learns the newest prompts nobody labelled, with the triplet its
# own first pass predicted at least this probable (see README). The guesses are never stored.
SECONDMIND_SELF_TRAINING = envbool("SECONDMIND_SELF_TRAINING", "true")
# With a fine-tuned encoder and self-training: fine-tune a second time on the labels and the traffic the
# first encoder's heads are sure of (a noisy student); false gives the first fine-tuning the time instead.
SECONDMIND_NOISY_STUDENT = envbool("SECONDMIND_NOISY_STUDENT", "true")
SECONDMIND_SELF_TRAINING_CONFIDENCE = envfloat("SECONDMIND_SELF_TRAINING_CONFIDENCE", "0.8")
SECONDMIND_SELF_TRAINING_PROMPTS = envint("SECONDMIND_SELF_TRAINING_PROMPTS", "20000")
# Where training finds those prompts: a function of the most to return, giving their vectors. A dotted
# path, so that training/ never imports the app that stores them.
SECONDMIND_TRAFFIC_SOURCE = "interactions.traffic.unlabelled_traffic"
# How many prompts arrived since an id: the traffic trigger's count (a dotted path for the same reason).
SECONDMIND_TRAFFIC_COUNT = "interactions.traffic.traffic_since"
# A training run also starts once this many prompts arrived since the last run that trained (0: never),
# so that self-training and the noisy student learn from use before anyone reviews.
SECONDMIND_RETRAIN_TRAFFIC = envint("SECONDMIND_RETRAIN_TRAFFIC", "500")
# The encoder a run trains: "stock" (all-MiniLM-L6-v2, frozen), "finetune" (a copy fine-tuned by every
# run) or "auto" (both; the fine-tuned one is kept when its blind heads do better on the holdout).
SECONDMIND_ENCODER = envchoice("SECONDMIND_ENCODER", "auto", ("stock", "finetune", "auto"))
# The time budget of a run's fine-tuning, its fold encoders included (each stops at its share).
SECONDMIND_FINETUNE_MINUTES = envfloat("SECONDMIND_FINETUNE_MINUTES", "10")
# A cap on the steps of each fine-tuning (0: none): for tests and quick trials.
SECONDMIND_FINETUNE_MAX_STEPS = envint("SECONDMIND_FINETUNE_MAX_STEPS", "0")
# Each head's probabilities are mixed, with this weight, with the vote of the 10 most similar examples
# the model learned (0 turns it off).
SECONDMIND_NEIGHBOUR_WEIGHT = envfloat("SECONDMIND_NEIGHBOUR_WEIGHT", "0.3")
SECONDMIND_STALE_RUN_MINUTES = envint("SECONDMIND_STALE_RUN_MINUTES", "2")
# Below this many holdout examples a candidate is not compared; it stays a candidate (see README).
SECONDMIND_MIN_HOLDOUT = envint("SECONDMIND_MIN_HOLDOUT", "10")
# Share of auto-accepted interactions also sent to the review queue as "audit" items.
SECONDMIND_AUDIT_RATE = envfloat("SECONDMIND_AUDIT_RATE", "0.02")
# The order of the review queue: "least_confident" or "random" (see the README's loop measurements).
SECONDMIND_REVIEW_ORDER = envchoice("SECONDMIND_REVIEW_ORDER", "random", ("random", "least_confident"))
# A JSON POST to this URL when a version becomes active, a run fails, or the review queue reaches
# SECONDMIND_WEBHOOK_QUEUE_SIZE items (0: never); empty: no webhook.
SECONDMIND_WEBHOOK_URL = os.environ.get("SECONDMIND_WEBHOOK_URL", "")
SECONDMIND_WEBHOOK_QUEUE_SIZE = envint("SECONDMIND_WEBHOOK_QUEUE_SIZE", "500")
# Nearest examples less similar than this say nothing about a prompt: the review card leaves them out.
SECONDMIND_REVIEW_NEIGHBOUR_FLOOR = envfloat("SECONDMIND_REVIEW_NEIGHBOUR_FLOOR", "0.35")

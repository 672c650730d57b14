"""Shared fixtures: prepared users, an API client with a real token, the real seed and a trained model.

The encoder is loaded once per test session (it is a process-wide singleton); model files go to a
fresh media directory per test.
"""

import copy
import json
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from interactions.models import ApiToken
from interactions.rejections import rejected_prompts
from interactions.simulation import read_triplets
from training.card import Certificate, Proof
from training.datasets import import_jsonl
from training.detector import detector
from training.encoder import embed
from training.models import Example, ModelVersion, Source, TrainingRun
from training.pipeline import execute
from training.triggers import create_run

HWU64 = settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64"


SLOW_FIXTURES = {"hwu64", "hwu64_vectors", "worker", "finetuning"}
DATASET_FIXTURES = {"hwu64", "hwu64_vectors"}


def pytest_collection_modifyitems(items):
    """`slow`: a real worker or browser, a fine-tuned encoder or HWU64; `make test-fast` leaves them out.
    `dataset`: learns from HWU64, what no database engine changes; `make test-scaleout` leaves them out."""
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        if DATASET_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.dataset)


def pytest_report_header(config):
    broker = "Redis" if settings.Q_CLUSTER.get("redis") else "the database"
    return f"database: {settings.DATABASES['default']['ENGINE']}; django-q2 broker: {broker}"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Pages render without `collectstatic` having built the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def stock_encoder_by_default(settings):
    """Runs train heads on the stock encoder unless a test asks for fine-tuning (tests/test_finetuning.py)."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", encoder="stock")


@pytest.fixture(autouse=True)
def fresh_process():
    """Each test serves like a new process: versions and reviews are numbered anew per test database."""
    detector.forget()
    rejected_prompts.forget()


@pytest.fixture
def accept_everything(settings):
    """The gate's fixed rule at 0: every sure-enough prediction is auto-accepted."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but(
        "gate", rule="fixed", accept_threshold=0.0, unknown_threshold=0.0
    )


@pytest.fixture
def review_everything(settings):
    """No auto-accept and no Unknown head: every prompt that is not noise goes to a person."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", auto_accept=False, unknown_threshold=0.0)


@pytest.fixture
def reviewer(django_user_model):
    return django_user_model.objects.create_user("riley", password="riley-password-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", password="sam-password-1", is_staff=True)


class ApiClient:
    """A test client that sends JSON with a bearer token."""

    def __init__(self, token):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def post(self, path, data=None, raw=None):
        body = raw if raw is not None else json.dumps(data)
        return self.client.post(f"/api/v1{path}", body, content_type="application/json", headers=self.headers)

    def get(self, path):
        return self.client.get(f"/api/v1{path}", headers=self.headers)


@pytest.fixture
def api(reviewer):
    _, token = ApiToken.issue(reviewer)
    return ApiClient(token)


@pytest.fixture
def staff_api(staff):
    _, token = ApiToken.issue(staff)
    return ApiClient(token)


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def seed_lines():
    return settings.SECONDMIND_SEED_FILE.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def seeded(db):
    return import_jsonl(seed_lines(), Source.BASE)


def train_now(force=True):
    """A manual training run, in the foreground, as `manage.py retrain --wait` does it."""
    return execute(create_run(TrainingRun.Trigger.MANUAL, force=force))


# What a `trained` model depends on: a test that changes any of it first gets a model trained for it.
def _training_policy(policy):
    return (policy.training, policy.self_training, policy.certification)


_trained_once = {}


def _training_key(settings):
    from interactions.models import Interaction

    data = sorted(Example.objects.values_list("normalized_prompt", "source", "subject", "action", "category"))
    return (
        _training_policy(settings.SECONDMIND_POLICY),
        tuple(data),
        Interaction.objects.count(),
        ModelVersion.objects.count(),
        TrainingRun.objects.count(),
    )


def train_once(settings) -> ModelVersion:
    """The version of a manual run, trained for real once per set of settings and data; later tests get
    the same files and rows restored, as a second identical training would give them."""
    key = _training_key(settings)
    if key in _trained_once:
        return _restore(_trained_once[key])
    run = train_now()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    _trained_once[key] = _snapshot(run)
    return run.version


@pytest.fixture
def trained(seeded, settings):
    """The seed's first model, active."""
    return train_once(settings)


def _snapshot(run):
    version = run.version
    files = {
        field: (getattr(version, field).name, getattr(version, field).read())
        for field in ("heads_file", "blind_heads_file", "encoder_file")
        if getattr(version, field)
    }
    fields = {
        f.name: getattr(version, f.name)
        for f in ModelVersion._meta.concrete_fields
        if f.name not in ("id", "created_at", "activated_at", *files)
    }
    keys = {
        name: list(getattr(version, name).values_list("normalized_prompt", "source"))
        for name in ("trained_on", "evaluated_on")
    }
    return copy.deepcopy(
        {
            "files": files,
            "fields": fields,
            "examples": keys,
            "run": {
                name: getattr(run, name)
                for name in ("trigger", "force", "summary", "decision", "stage", "percent", "promoted")
            },
            "seconds": run.duration,
        }
    )


def _restore(saved):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db.models import Max
    from django.utils import timezone

    saved = copy.deepcopy(saved)  # a test may change what it gets
    version = ModelVersion(**saved["fields"], activated_at=timezone.now())
    for field, (name, data) in saved["files"].items():
        setattr(version, field, default_storage.save(name, ContentFile(data)))
    version.save()
    if version.status == ModelVersion.Status.ACTIVE:
        ModelVersion.objects.exclude(pk=version.pk).filter(status=version.status).update(
            status=ModelVersion.Status.RETIRED
        )
    by_key = {(e.normalized_prompt, e.source): e for e in Example.objects.all()}
    for name, keys in saved["examples"].items():
        getattr(version, name).set([by_key[k] for k in keys])
    finished = timezone.now()
    TrainingRun.objects.create(
        **saved["run"],
        status=TrainingRun.Status.SUCCEEDED,
        version=version,
        started_at=finished - timedelta(seconds=saved["seconds"]),
        finished_at=finished,
        data_until=Example.objects.aggregate(m=Max("pk"))["m"],
    )
    return version


def give_certificate(version, certificate):
    """Store `certificate` as `version`'s gate, as a training run stores it."""
    version.metrics["gate"] = certificate.to_json()
    version.save(update_fields=["metrics"])
    return version


@pytest.fixture
def category_certified(trained, settings):
    """The active version's gate proves the category head alone (every sureness clears -50)."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", rule="certified")
    heads = {"subject": Proof(), "action": Proof(), "category": Proof(-50.0)}
    return give_certificate(trained, Certificate(scope=-1.0, heads=heads))


@pytest.fixture(scope="session")
def hwu64():
    if not (HWU64 / "train.jsonl").exists():
        pytest.skip(f"HWU64 is not at {HWU64} (it lives in ../shared/datasets, outside the repository)")
    return HWU64


@pytest.fixture(scope="session")
def hwu64_vectors(hwu64):
    """HWU64's train and test triplets, with their embeddings."""
    train, test = read_triplets(hwu64 / "train.jsonl"), read_triplets(hwu64 / "test.jsonl")
    return train, embed([r["prompt"] for r in train]), test, embed([r["prompt"] for r in test])


def test_database_url():
    """The URL of the database the tests run on, for a process of its own to share it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def start_machine(command, media_root, data_dir):
    """`command` in a process of its own as a separate machine would run it: sharing only the test
    database, the broker and the model directory, with a data directory (and secret key) of its own;
    its output goes to `output.log` there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "SECONDMIND_MEDIA_DIR": str(media_root),
        "SECONDMIND_DATA_DIR": str(data_dir),
        "SECRET_KEY": settings.SECRET_KEY,  # django-q2 signs tasks with it: every machine needs the same
        "HF_HUB_OFFLINE": "1",
        "SECONDMIND_ENCODER": "stock",
    }
    return subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=(data_dir / "output.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_machine(process):
    """TERM the leader, as bin/serve stops it; then KILL whatever of its group is left."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def worker(transactional_db, media_root, tmp_path):
    """A real `manage.py qcluster` process on the test database and the test's model directory."""
    process = start_machine([sys.executable, "manage.py", "qcluster"], media_root, tmp_path / "worker")
    yield process
    stop_machine(process)

"""The learning curve is honest: each point says how many holdout examples it was scored on, and only
versions scored on the same examples are joined."""

from secondmind.overview import learning_curve
from tests.conftest import train_now
from training.datasets import import_jsonl
from training.models import Source


def test_versions_on_the_same_holdout_share_it_and_say_its_size(trained):
    again = train_now(force=True).version
    first, second = learning_curve()
    assert first["holdout"] == second["holdout"]
    assert first["size"] == second["size"] == trained.evaluated_on.count() == again.evaluated_on.count()


def test_a_version_scored_on_a_grown_holdout_is_not_joined_to_the_one_before(trained, hwu64):
    lines = (hwu64 / "train.jsonl").read_text(encoding="utf-8").splitlines()[:200]
    import_jsonl(lines, Source.LIVE)
    train_now(force=True)
    first, second = learning_curve()
    assert first["holdout"] != second["holdout"] and second["size"] > first["size"]


def test_the_overview_page_shows_the_sample_size(reviewer_client, trained):
    page = reviewer_client.get("/").content.decode()
    assert "n: the holdout examples a version was scored on" in page
    assert f'"size": {learning_curve()[0]["size"]}' in page

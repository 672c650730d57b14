"""The worker reads every servable version's files each hour, so a damaged one shows before it is needed."""

from django_q.models import Schedule

from training.registry import verify_model_files


def test_the_worker_checks_the_model_files_every_hour(db):
    schedule = Schedule.objects.get(name="verify-model-files")
    assert schedule.func == "training.registry.verify_model_files"
    assert schedule.schedule_type == Schedule.HOURLY


def test_whole_files_are_recorded_as_checked_with_no_problem(trained):
    verify_model_files()
    trained.refresh_from_db()
    assert trained.files_checked_at is not None
    assert trained.files_problem == ""


def test_a_damaged_file_is_recorded_and_the_overview_says_which_version(trained, media_root, staff_client):
    path = media_root / trained.blind_heads_file.name
    path.write_bytes(path.read_bytes()[:-1])
    verify_model_files()
    trained.refresh_from_db()
    assert "does not match its recorded sha256" in trained.files_problem
    page = staff_client.get("/").content.decode()
    assert f'The files of <a href="/models/{trained.number}/">v{trained.number}</a>' in page
    assert "damaged" in page


def test_a_missing_file_is_recorded_and_repairing_it_clears_the_warning(trained, media_root, staff_client):
    path = media_root / trained.heads_file.name
    data = path.read_bytes()
    path.unlink()
    verify_model_files()
    trained.refresh_from_db()
    assert "is missing" in trained.files_problem
    path.write_bytes(data)
    verify_model_files()
    assert "damaged" not in staff_client.get("/").content.decode()

"""The Django admin: seed annotation, read-only interactions, staff only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interactions.classify import classify
from tests.conftest import seed_lines
from training.models import Example, ModelVersion, Promotion, Source


def test_a_reviewer_cannot_open_the_admin(reviewer_client, db):
    assert reviewer_client.get("/admin/").status_code == 302


def test_staff_edits_base_labels_in_the_list(admin_client, seeded):
    page = admin_client.get("/admin/training/example/?source__exact=base&q=backup").content.decode()
    assert "backup.sh" in page and 'name="form-0-subject"' in page


def test_staff_imports_a_jsonl_file_in_the_admin(admin_client, db):
    data = SimpleUploadedFile("seed.jsonl", "\n".join(seed_lines()).encode())
    response = admin_client.post("/admin/training/example/import-jsonl/", {"file": data, "source": "base"})
    assert response.status_code == 302
    assert Example.objects.filter(source=Source.BASE).count() == 69


def test_a_bad_file_in_the_admin_import_shows_its_lines_and_imports_nothing(admin_client, db):
    data = SimpleUploadedFile("bad.jsonl", (seed_lines()[0] + "\n{nope\n").encode())
    page = admin_client.post("/admin/training/example/import-jsonl/", {"file": data, "source": "base"}).content.decode()
    assert "1 invalid line(s); nothing was imported" in page and "not valid JSON" in page
    assert Example.objects.count() == 0


def test_interactions_are_read_only_with_their_verdicts(admin_client, trained):
    interaction = classify("Find the notes from the design review")
    page = admin_client.get(f"/admin/interactions/interaction/{interaction.pk}/change/").content.decode()
    assert interaction.verdict in page
    assert admin_client.get("/admin/interactions/interaction/add/").status_code == 403


def test_a_model_versions_files_and_hashes_cannot_be_edited(admin_client, trained):
    page = admin_client.get(f"/admin/training/modelversion/{trained.pk}/change/").content.decode()
    assert trained.blind_sha256 in page and trained.sha256 in page  # shown
    for field in ("heads_file", "sha256", "blind_heads_file", "blind_sha256"):
        assert f'name="{field}"' not in page  # not an input


def test_a_version_goes_live_only_through_promotion_with_its_hash_check_and_record(admin_client, trained):
    page = admin_client.get(f"/admin/training/modelversion/{trained.pk}/change/").content.decode()
    assert 'name="status"' not in page


def test_the_model_history_cannot_be_deleted_or_rewritten_in_the_admin(admin_client, trained, staff):
    promotion = Promotion.objects.create(version=trained, user=staff, reason="v1 is the baseline")
    assert admin_client.post(f"/admin/training/modelversion/{trained.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"/admin/training/promotion/{promotion.pk}/delete/", {"post": "yes"}).status_code == 403
    run = trained.runs.get()
    assert admin_client.post(f"/admin/training/trainingrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"/admin/training/promotion/{promotion.pk}/change/", {"reason": "rewritten"})
    promotion.refresh_from_db()
    assert promotion.reason == "v1 is the baseline" and ModelVersion.objects.filter(pk=trained.pk).exists()


def change_form(example, **changes):
    return {
        "prompt": example.prompt,
        "subject": example.subject,
        "action": example.action,
        "category": example.category,
        "source": example.source,
        "created_by": "",
        **changes,
    }


def test_an_edit_that_repeats_another_examples_prompt_is_refused_with_a_message(admin_client, seeded):
    first, second = Example.objects.filter(source=Source.BASE)[:2]
    response = admin_client.post(
        f"/admin/training/example/{second.pk}/change/", change_form(second, prompt=f"  {first.prompt.upper()} ")
    )
    assert response.status_code == 200
    assert "already a base example" in response.content.decode()
    second.refresh_from_db()
    assert second.prompt != first.prompt


def test_a_label_the_import_would_refuse_is_refused_in_the_admin_too(admin_client, seeded):
    example = Example.objects.filter(source=Source.BASE).first()
    for label, message in (("", "labels every head"), ("Unknown", "reserved for an unsure head")):
        response = admin_client.post(
            f"/admin/training/example/{example.pk}/change/", change_form(example, subject=label)
        )
        assert response.status_code == 200 and message in response.content.decode()
    example.refresh_from_db()
    assert example.subject not in ("", "Unknown")


def test_a_batch_example_left_without_any_label_is_refused(admin_client, db):
    example = Example.objects.create(
        prompt="Find the notes from the kickoff", source=Source.BATCH, category="Knowledge"
    )
    response = admin_client.post(f"/admin/training/example/{example.pk}/change/", change_form(example, category=""))
    assert response.status_code == 200 and "needs at least one label" in response.content.decode()


@pytest.mark.parametrize("model", ["modelversion", "trainingrun"])
def test_the_admin_offers_no_add_for_what_only_training_makes(admin_client, db, model):
    assert admin_client.get(f"/admin/training/{model}/add/").status_code == 403

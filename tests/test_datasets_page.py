"""The datasets page: counts, downloads of the design's files, uploads that import all or nothing."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import seed_lines
from training.models import Example, Source


def upload(client, lines, source="live"):
    data = SimpleUploadedFile("new.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    return client.post("/datasets/upload/", {"file": data, "source": source})


def test_it_downloads_a_source_under_the_design_file_name(reviewer_client, seeded):
    response = reviewer_client.get("/datasets/base.jsonl")
    assert response["Content-Disposition"] == 'attachment; filename="intentions_base.jsonl"'
    assert response.content.decode().splitlines()[0] == seed_lines()[0]


def test_staff_upload_imports_a_valid_file(staff_client, db):
    response = upload(staff_client, seed_lines()[:5])
    assert response.status_code == 302
    assert Example.objects.filter(source=Source.LIVE).count() == 5


def test_an_upload_with_bad_lines_shows_each_and_imports_nothing(staff_client, db):
    response = upload(staff_client, [*seed_lines()[:3], "{oops", '{"prompt": "no labels at all"}'])
    assert response.status_code == 400
    page = response.content.decode()
    assert "not valid JSON" in page and "missing" in page and ">4<" in page and ">5<" in page
    assert Example.objects.count() == 0


def test_it_counts_examples_per_source_and_label(reviewer_client, seeded):
    page = reviewer_client.get("/datasets/").content.decode()
    assert "Communication" in page and ">69<" in page

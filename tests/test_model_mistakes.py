"""The model page shows what the holdout scores count against a version: the holdout examples it got
wrong, and a confusion matrix whose hits and errors look different."""

import re


def test_the_model_page_loads_its_holdout_mistakes_after_it_shows(reviewer_client, trained):
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert f'hx-get="/models/{trained.number}/mistakes/"' in page and "Scoring the holdout" in page


def test_the_mistakes_are_the_holdout_examples_the_exact_score_counts_as_wrong(reviewer_client, trained):
    holdout = trained.metrics["holdout"]
    wrong = round(holdout["size"] * (1 - holdout["exact"]))
    partial = reviewer_client.get(f"/models/{trained.number}/mistakes/").content.decode()
    assert f"got wrong <small>({wrong})</small>" in partial
    assert partial.count('<strong class="error">') >= wrong
    assert "relabel" not in partial  # the admin is for staff


def test_staff_get_a_link_to_relabel_each_mistake(staff_client, trained):
    partial = staff_client.get(f"/models/{trained.number}/mistakes/").content.decode()
    assert re.search(r'href="/admin/training/example/\d+/change/">relabel', partial)


def test_the_confusion_matrix_colours_errors_apart_from_hits(reviewer_client, trained):
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert 'class="num hit"' in page and 'class="num miss"' in page

"""Finding one's way in the queue: counts, search and label filters, reasons in plain words, and
neighbours only when they say something."""

import pytest
from django.utils.html import escape

from interactions.classify import classify
from interactions.models import Guidelines, Review
from interactions.reasons import explain
from interactions.reviews import decide

PROMPTS = ["Remind me to renew the passport", "Plan the offsite agenda for March", "Find emails about the invoice"]


@pytest.fixture
def items(trained, review_everything):
    return [classify(prompt) for prompt in PROMPTS]


def test_the_page_counts_the_items_left_and_decided_today(reviewer_client, reviewer, items):
    decide(items[0].pk, reviewer, Review.Decision.APPROVED)
    page = reviewer_client.get("/review/").content.decode()
    assert "<strong>2</strong> left" in page and "<strong>1</strong> decided today" in page


def test_a_search_keeps_the_items_whose_prompt_holds_the_text(reviewer_client, items):
    page = reviewer_client.get("/review/", {"q": "OFFSITE"}).content.decode()
    assert PROMPTS[1] in page and PROMPTS[0] not in page and PROMPTS[2] not in page
    assert "<strong>1</strong> left matching" in page


def test_a_label_filter_keeps_the_items_suggesting_that_label(reviewer_client, items):
    category = items[2].category
    page = reviewer_client.get("/review/", {"category": category}).content.decode()
    assert all((item.prompt in page) == (item.category == category) for item in items)


def test_a_filter_that_matches_nothing_says_so_and_offers_the_whole_queue(reviewer_client, items):
    page = reviewer_client.get("/review/", {"q": "no prompt says this"}).content.decode()
    assert "Nothing matches" in page and "Show the whole queue" in page


def test_reasons_are_shown_in_plain_words_with_the_why_on_hover(reviewer_client, items):
    page = reviewer_client.get("/review/").content.decode()
    code = items[0].reasons[0]
    label, why = explain(code)
    assert label != code and f'title="{escape(why)}" data-reason="{code}">{label}</span>' in page


def test_a_reason_per_head_names_the_head():
    assert explain("auto_labelled_category")[0] == "category learned already"
    assert explain("something_new") == ("something_new", "something_new")


def test_neighbours_below_the_similarity_floor_are_left_out(reviewer_client, items, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("review", neighbour_floor=1.01)
    assert "Nearest human-labelled examples" not in reviewer_client.get("/review/").content.decode()
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("review", neighbour_floor=-1.0)
    assert "Nearest human-labelled examples" in reviewer_client.get("/review/").content.decode()


def test_approve_all_matching_approves_what_the_search_finds_and_nothing_else(reviewer_client, items):
    page = reviewer_client.get("/review/", {"q": "offsite"}).content.decode()
    assert "Approve all 1 matching" in page
    reviewer_client.post("/review/bulk-approve/", {"matching": "1", "q": "offsite"})
    assert [r.interaction for r in Review.objects.all()] == [items[1]]
    assert Review.objects.get().after == items[1].triplet


def test_staff_are_invited_to_write_guidelines_and_reviewers_read_them(reviewer_client, staff_client, items):
    assert "write some" in staff_client.get("/review/").content.decode()
    assert "Guidelines" not in reviewer_client.get("/review/").content.decode()
    Guidelines.objects.create(text="Reject prompts that are only greetings.\n\nA reminder is a Reminder.")
    page = reviewer_client.get("/review/").content.decode()
    assert "<p>Reject prompts that are only greetings.</p>" in page
    assert "/admin/interactions/guidelines/" not in page  # editing is for staff


def test_a_reason_filter_keeps_the_items_held_back_for_that_reason(reviewer_client, items):
    code = items[0].reasons[0]
    page = reviewer_client.get("/review/", {"reason": code}).content.decode()
    assert all((item.prompt in page) == (code in item.reasons) for item in items)
    assert "Nothing matches" in reviewer_client.get("/review/", {"reason": "near_rejected"}).content.decode()


def test_the_queue_can_be_sorted_newest_or_oldest_first(reviewer_client, items):
    for sort, newest_first in (("newest", True), ("oldest", False)):
        page = reviewer_client.get("/review/", {"sort": sort}).content.decode()
        positions = [page.index(item.prompt) for item in items]
        assert positions == sorted(positions, reverse=newest_first), sort

"""End to end in a real browser: Debian's chromium driven by Playwright against a live server."""

import os
import re
import time
from pathlib import Path

import pytest

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import decide
from tests.conftest import train_now
from training.models import ModelVersion
from training.promotion import promote_by_hand

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    ),
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the tests are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def log_in(page, username, password):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


@pytest.fixture
def borderline(trained, review_everything):
    return classify("Could you look into the flaky login tests?")


def test_a_person_logs_in_and_sees_the_overview(page, reviewer, trained):
    log_in(page, "riley", "riley-password-1")
    assert page.locator("h1").inner_text() == "Overview"
    assert page.get_by_role("heading", name="Active model").is_visible()


def test_a_reviewer_approves_with_the_keyboard(page, reviewer, borderline):
    classify("Remind me to renew the passport next month")  # else the emptied queue reloads the page at once
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    first_id = page.locator(".queue .item").first.get_attribute("id")
    page.keyboard.press("a")
    page.locator(f"#{first_id} .done").wait_for()
    assert "Approved" in page.locator(f"#{first_id}").inner_text()
    assert Review.objects.get(interaction_id=int(first_id.split("-")[1])).decision == "approved"


def test_a_reviewer_moves_with_j_and_k(page, reviewer, borderline):
    second = classify("Remind me to renew the passport next month")
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    first_id, second_id = (page.locator(".queue .item").nth(i).get_attribute("id") for i in (0, 1))
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.locator(f"#{second_id} .done").wait_for()
    assert "Rejected" in page.locator(f"#{second_id}").inner_text()
    assert page.locator(f"#{first_id} .done").count() == 0
    assert {borderline.pk, second.pk} == {int(first_id.split("-")[1]), int(second_id.split("-")[1])}


ERRANDS = (
    "Remind me to renew the passport next month",
    "Find the notes from the design review",
    "Book a table for four on Friday evening",
    "What is the weather like in Lisbon tomorrow",
    "Add oat milk and eggs to the shopping list",
)


def press_and_wait(page, key):
    """Press `key` on the current item, then wait until that item is decided and another one is
    current, ready for the next key."""
    current = page.locator(".queue .item.current").get_attribute("id")
    page.keyboard.press(key)
    page.wait_for_function(
        """(id) => {
            const was = document.getElementById(id), now = document.querySelector('.queue .item.current');
            return (!was || was.classList.contains('decided')) && now && !now.classList.contains('decided');
        }""",
        arg=current,
    )


def test_fifty_decisions_by_keyboard_alone_go_on_from_page_to_page(page, reviewer, trained, review_everything):
    items = [classify(f"Remind me to call supplier number {n} about the {n}th order") for n in range(52)]
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    for key in "aar" * 16 + "ar":
        press_and_wait(page, key)
    assert Review.objects.filter(interaction__in=items).count() == 50
    decisions = list(Review.objects.values_list("decision", flat=True))
    assert (decisions.count("approved"), decisions.count("rejected")) == (33, 17)


def test_u_undoes_the_last_decision_and_the_item_can_be_decided_again(page, reviewer, borderline):
    for prompt in ERRANDS[:2]:
        classify(prompt)
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    press_and_wait(page, "a")
    rejected = page.locator(".queue .item.current").get_attribute("id")
    press_and_wait(page, "r")
    page.keyboard.press("u")
    page.locator(f"#{rejected}.current[data-undone] button.approve").wait_for()  # back, and focused
    assert Review.objects.count() == 1, "the rejection was undone, the approval stays"
    press_and_wait(page, "a")
    assert Review.objects.get(interaction_id=int(rejected.split("-")[1])).decision == "approved"


def test_question_mark_shows_the_keys_and_escape_closes_them(page, reviewer, borderline):
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    page.keyboard.press("?")
    assert page.locator("dialog#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("dialog#help").is_visible()


def test_at_least_six_cards_fit_a_1400_by_1000_screen(page, reviewer, borderline):
    for prompt in ERRANDS:
        classify(prompt, context={"chat": "demo"})
    page.set_viewport_size({"width": 1400, "height": 1000})
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    bottoms = [box["y"] + box["height"] for box in (card.bounding_box() for card in page.locator(".queue .item").all())]
    assert sum(bottom <= 1000 for bottom in bottoms) >= 6, bottoms


def test_after_a_promotion_the_queue_suggests_the_new_versions_prediction(page, reviewer, trained, review_everything):
    item = classify("Find my notes about the kubernetes upgrade")
    newer = promote_by_hand(train_now(force=True).version, None, "a newer version")
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    assert f"suggested by v{newer.number}" in page.locator(f"#item-{item.pk}").inner_text()


def test_keys_keep_working_after_a_click_on_a_checkbox(page, reviewer, borderline):
    second = classify(ERRANDS[0])
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    page.locator(".queue .item input[type=checkbox]").first.click()
    page.keyboard.press("j")
    press_and_wait(page, "r")
    assert Review.objects.filter(interaction__in=[borderline, second], decision="rejected").count() == 1


def test_x_selects_items_and_shift_a_approves_the_selection(page, reviewer, borderline):
    for prompt in ERRANDS[:2]:
        classify(prompt)
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    ids = [int(page.locator(".queue .item").nth(i).get_attribute("id").split("-")[1]) for i in range(3)]
    for key in ("x", "j", "j", "x", "Shift+A"):
        page.keyboard.press(key)
    page.locator(".messages >> text=Approved 2 item(s)").wait_for()
    approved = set(Review.objects.filter(decision="approved").values_list("interaction_id", flat=True))
    assert approved == {ids[0], ids[2]}


def test_a_second_reviewer_sees_who_decided_first(page, reviewer, staff, borderline):
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    decide(borderline.pk, staff, "rejected")
    page.keyboard.press("a")
    page.locator(f"#item-{borderline.pk} .error").wait_for()
    assert "sam rejected it" in page.locator(f"#item-{borderline.pk}").inner_text()
    assert Review.objects.get(interaction=borderline).decision == "rejected"


def test_an_override_of_one_head_with_a_new_label_is_in_the_live_export(page, reviewer, borderline):
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    page.keyboard.press("o")
    page.fill(f"#item-{borderline.pk} input[name=subject]", "Test suite")
    page.keyboard.press("Enter")
    page.locator(f"#item-{borderline.pk} .done").wait_for()
    export = page.request.get("/datasets/live.jsonl").text()
    assert '"subject": "Test suite"' in export
    assert f'"action": "{borderline.action}"' in export


def test_the_retrain_button_shows_progress_then_the_new_version(page, staff, trained, worker):
    log_in(page, "sam", "sam-password-1")
    page.goto("/models/")
    page.click("text=Retrain now")
    page.locator("#training-status >> text=/queued|running/").wait_for()
    page.locator("#training-status >> text=Produced v2").wait_for(timeout=120000)
    page.locator("table.list >> a:text-is('v2')").wait_for()
    assert ModelVersion.objects.filter(number=2).exists()


def test_a_prompt_with_a_script_tag_is_shown_as_text(page, reviewer, trained, review_everything):
    prompt = "please run <script>alert('pwned')</script> on the build"
    item = classify(prompt)
    log_in(page, "riley", "riley-password-1")
    page.goto("/review/")
    assert page.locator(f"#item-{item.pk} .prompt").inner_text() == prompt
    time.sleep(0.5)
    assert page.dialogs == []


def test_a_reviewer_cannot_promote(page, reviewer, trained):
    log_in(page, "riley", "riley-password-1")
    page.goto(f"/models/{trained.number}/")
    assert page.locator("button.promote").count() == 0
    token = page.locator("body").get_attribute("hx-headers")
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', token).group(1)
    response = page.request.post(
        f"/models/{trained.number}/promote/", form={"reason": "sneaky"}, headers={"X-CSRFToken": csrf}
    )
    assert response.status == 403


def test_screenshots_of_each_page(page, staff, trained, review_everything, tmp_path):
    """`make screenshots` keeps them in docs/screenshots for the README; otherwise they go to a temp dir."""
    screenshots = Path(os.environ.get("SCREENSHOTS_DIR", tmp_path))
    for prompt in (
        "Remind me to renew my passport next month",
        "Could you look into the flaky login tests?",
        "Find the notes from the design review",
    ):
        classify(prompt, context={"chat": "demo"})
    screenshots.mkdir(parents=True, exist_ok=True)
    log_in(page, "sam", "sam-password-1")
    for name, url in [
        ("overview", "/"),
        ("review", "/review/"),
        ("models", "/models/"),
        ("model", f"/models/{trained.number}/"),
        ("datasets", "/datasets/"),
    ]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)
        assert (screenshots / f"{name}.png").stat().st_size > 10000


def test_the_api_docs_render_with_the_network_blocked(page, reviewer, live_server):
    log_in(page, "riley", "riley-password-1")
    outside = []

    def only_this_server(route):
        if route.request.url.startswith(live_server.url):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_this_server)
    page.goto("/api/v1/docs")
    assert "SecondMind API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.get_by_text("/api/v1/classify", exact=True).first.is_visible()
    assert outside == []

"""`manage.py simulate_loop` on a slice of HWU64: the JSON a user reads, and a loop that never regresses."""

import itertools
import json
import random

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from interactions.classify import classify
from interactions.simulation import (
    count_labelled_without_a_person,
    make_plan,
    outside_counts,
    read_triplets,
    sign_test,
    with_strays,
)
from tests.test_out_of_scope import OUT_OF_SCOPE

STEP_FIELDS = {
    "prompts_seen",
    "human_labels",
    "auto_accepted",
    "auto_correct",
    "auto_labels",
    "active_version",
    "encoder",
    "run_seconds",
    "stage_seconds",
    "trained_on",
    "promoted",
    "test",
    "gate_folds",
}
TEST_FIELDS = {"subject", "action", "category", "exact"}
STREAM = 1000  # HWU64 training prompts: the 50 seed triplets, then a run every 250 prompts
# traffic from outside HWU64's intents, as a real assistant gets it
STRAYS = [
    "merge the feature branch and fix the conflicts",
    "why is my laptop fan so loud when idle",
    "translate this contract clause into legal german",
    "compile the kernel with debug symbols",
    "what is a good name for a pet tortoise",
    "review my cover letter for a data engineer role",
    "optimise this sql query that joins five tables",
    "how many calories does rock climbing burn",
    "generate an invoice for the consulting work in march",
    "convert this csv file into parquet",
    "is it legal to fly a drone over a national park",
    "set up two factor auth for the build server",
    "sketch a logo for a bakery called crumbs",
    "what does the error segmentation fault mean",
    "draft the terms of service for a mobile game",
    "plan a curriculum for learning rust in a month",
    "rotate the api keys of the payment provider",
    "what is the capital gains tax on crypto",
    "benchmark the new gpu against the old one",
    "write a haiku about garbage collection",
]


@pytest.fixture(scope="module")
def result(hwu64, tmp_path_factory, django_db_blocker):
    work = tmp_path_factory.mktemp("simulation")
    lines = (hwu64 / "train.jsonl").read_text(encoding="utf-8").splitlines()
    (work / "train.jsonl").write_text("\n".join(lines[:STREAM]) + "\n", encoding="utf-8")
    (work / "outside.txt").write_text("\n".join(OUT_OF_SCOPE) + "\n", encoding="utf-8")
    (work / "strays.txt").write_text("\n".join(STRAYS) + "\n", encoding="utf-8")
    with django_db_blocker.unblock():  # the command itself never touches this database: it runs its own
        call_command(
            "simulate_loop",
            train=str(work / "train.jsonl"),
            test=str(hwu64 / "test.jsonl"),
            chunk=250,
            out_of_scope=str(work / "outside.txt"),
            out_of_scope_traffic=str(work / "strays.txt"),
            review_budget=0.2,
            json_out=str(work / "out.json"),
            plot=str(work / "curve.png"),
        )
    assert (work / "curve.png").stat().st_size > 10000
    return json.loads((work / "out.json").read_text())


def test_it_reports_every_training_run_as_a_step(result):
    assert len(result["steps"]) >= 3
    for step in result["steps"]:
        assert STEP_FIELDS <= set(step)
        assert set(step["test"]) == TEST_FIELDS and all(0 <= v <= 1 for v in step["test"].values())
        assert [stage for stage, _ in step["stage_seconds"]][:2] == ["preparing", "training the stock heads"]
        assert 0 <= step["gate"]["surest_right"] <= step["gate"]["surest"] <= 60
    assert result["steps"][-1]["human_labels"] > 0


def test_a_seed_that_reaches_the_retrain_threshold_is_trained_once(result):
    assert [step["prompts_seen"] for step in result["steps"]].count(0) == 1


def test_it_reports_the_baselines_and_the_final_model(result):
    assert set(result["baselines"]) == {"seed_only", "review_only", "full"}
    assert all(set(test) == TEST_FIELDS for test in result["baselines"].values())
    assert set(result["final"]) == TEST_FIELDS
    assert "auto_precision" in result
    assert result["final"]["exact"] > result["baselines"]["seed_only"]["exact"]


def test_the_active_model_never_gets_worse_than_its_predecessor(result):
    scores = [step["test"]["exact"] for step in result["steps"]]
    assert all(later >= earlier - 0.005 for earlier, later in itertools.pairwise(scores)), scores


def test_it_explains_each_promotion_by_the_test_prompts_gained_and_lost(result, hwu64):
    test_size = len((hwu64 / "test.jsonl").read_text(encoding="utf-8").splitlines())
    promotions = [
        (before, after)
        for before, after in zip(result["steps"], result["steps"][1:])
        if after["active_version"] != before["active_version"]
    ]
    assert promotions
    for before, after in promotions:
        change = after["test_change"]
        assert change["from_version"] == before["active_version"]
        net = round((after["test"]["exact"] - before["test"]["exact"]) * test_size)
        assert change["gained"] - change["lost"] == net
        assert 0 < change["p_value"] <= 1
    kept = [
        after
        for before, after in zip(result["steps"], result["steps"][1:])
        if after["active_version"] == before["active_version"]
    ]
    assert all(step["test_change"] is None for step in kept)


def test_only_the_loop_learns_from_the_waiting_traffic_review_only_learns_from_people(result):
    assert any(step["self_training"] and step["self_training"]["prompts"] > 0 for step in result["steps"])
    assert all(step["self_training"] is None for step in result["review_only_steps"])


def test_a_change_as_often_right_as_wrong_is_no_evidence_of_either():
    assert sign_test(6, 6) == 1.0
    assert sign_test(10, 0) == sign_test(0, 10) == 2 / 2**10
    assert sign_test(0, 0) == 1.0


def test_it_reports_how_many_labels_each_head_got_without_a_person_and_how_many_were_right(result):
    assert set(result["auto_labels"]) == TEST_FIELDS - {"exact"}
    for counts in result["auto_labels"].values():
        assert 0 <= counts["correct"] <= counts["labelled"] <= result["prompts_seen"]
    for head, counts in result["steps"][-1]["auto_labels"].items():
        assert counts["labelled"] <= result["auto_labels"][head]["labelled"]


def test_it_reports_what_the_final_gate_did_with_out_of_scope_prompts(result):
    outside = result["out_of_scope"]
    assert outside["prompts"] == len(OUT_OF_SCOPE)
    assert set(outside["heads"]) == TEST_FIELDS - {"exact"}
    assert 0 <= outside["auto_accepted"] <= outside["auto_labelled"] <= outside["prompts"]


def test_the_reviewer_rejects_out_of_scope_traffic_and_the_report_counts_it(result):
    strays = result["out_of_scope_traffic"]
    assert strays["prompts"] == len(STRAYS)
    assert strays["rejected"] >= 1
    assert strays["rejected"] + strays["auto_accepted"] <= strays["prompts"]
    assert result["prompts_seen"] == STREAM - 50 + len(STRAYS)


def test_the_report_names_each_out_of_scope_prompt_labelled_without_a_person(trained, accept_everything):
    counts = outside_counts()
    interaction = classify("Remind me to water the plants on friday", source="simulation")
    count_labelled_without_a_person(counts, interaction)
    assert counts["auto_accepted"] == 1
    assert counts["labelled"] == [
        {"prompt": "Remind me to water the plants on friday", "accepted": True, **interaction.triplet}
    ]


def test_out_of_scope_traffic_joins_the_stream_without_reordering_it():
    stream = with_strays([5, 3, 9, 1], 10, 3, random.Random(0))
    assert sorted(stream) == [1, 3, 5, 9, 10, 11, 12]
    assert [i for i in stream if i < 10] == [5, 3, 9, 1]


def test_a_seed_file_is_the_base_and_every_train_triplet_is_streamed(settings):
    train = settings.BASE_DIR / "docs" / "learning" / "assistant" / "train.jsonl"
    plan = make_plan(
        train, train, 50, 0.5, 10, lambda texts: np.zeros((len(texts), 2)), seed_path=settings.SECONDMIND_SEED_FILE
    )
    seed_size = len(read_triplets(settings.SECONDMIND_SEED_FILE))
    assert [plan.train[i] for i in plan.seed] == read_triplets(settings.SECONDMIND_SEED_FILE)
    assert sorted(plan.stream) == list(range(seed_size, seed_size + len(read_triplets(train))))


def test_a_seed_file_and_a_seed_size_together_are_refused():
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("simulate_loop", "--seed", "seed.jsonl", "--seed-size", "10", train="t.jsonl", test="t.jsonl")

"""`manage.py benchmark_run`: what a whole training run costs, stage by stage, and what it learned."""

import io
import re

from django.core.management import call_command


def first_lines(source, count, target):
    target.write_text("\n".join(source.read_text(encoding="utf-8").splitlines()[:count]) + "\n")
    return str(target)


def test_it_prints_the_minutes_of_each_stage_and_the_test_accuracy_of_the_trained_version(hwu64, tmp_path):
    train = first_lines(hwu64 / "train.jsonl", 400, tmp_path / "train.jsonl")
    test = first_lines(hwu64 / "test.jsonl", 200, tmp_path / "test.jsonl")
    out = io.StringIO()
    call_command("benchmark_run", train=train, test=test, labels=[150], traffic=300, encoder="stock", stdout=out)
    assert "| certifying the gate |" in out.getvalue().splitlines()[0]
    [row] = re.findall(r"^\| 150 \| 300 \| stock encoder \|(.*)\|$", out.getvalue(), re.M)
    *stage_minutes, whole, holdout_exact, test_exact = (float(cell) for cell in row.split("|"))
    assert whole > 0 and sum(stage_minutes) <= whole + 0.01
    assert 0 <= holdout_exact <= 1
    assert 0.1 < test_exact <= 1  # 150 labels of HWU64 teach far more than chance (1/64)

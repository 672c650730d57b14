"""`manage.py benchmark_retrain`: what retraining costs as the data grows, with and without self-training."""

import io
import re

from django.core.management import call_command


def test_it_prints_the_training_time_per_size_with_and_without_traffic(hwu64, tmp_path, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("self_training", prompts=500)
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join((hwu64 / "train.jsonl").read_text(encoding="utf-8").splitlines()[:300]) + "\n")
    out = io.StringIO()
    call_command("benchmark_retrain", sizes=[200, 400], data=str(data), stdout=out)
    assert "with 500 prompts of traffic to self-train on and the neighbour vote" in out.getvalue()
    rows = re.findall(r"^\| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", out.getvalue(), re.M)
    assert [row[0] for row in rows] == ["200", "400"]

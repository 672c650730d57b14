"""`manage.py benchmark_backends`: each encoder backend's cost and accuracy side by side."""

import io
import re

from django.core.management import call_command


def first_lines(source, target, count):
    target.write_text("\n".join(source.read_text(encoding="utf-8").splitlines()[:count]) + "\n")
    return str(target)


def test_it_prints_a_row_per_backend_with_the_same_vectors(hwu64, tmp_path):
    train = first_lines(hwu64 / "train.jsonl", tmp_path / "train.jsonl", 120)
    test = first_lines(hwu64 / "test.jsonl", tmp_path / "test.jsonl", 40)
    out = io.StringIO()
    call_command("benchmark_backends", train=train, test=test, prompts=5, batch_sizes=[8], stdout=out)
    rows = re.findall(
        r"^\| ([^|]+) \| ([\d.]+) \| ([\d.]+) \| (\d+) \| ([\d.]+)% \| ([\d.]+) \(lowest\) \|$", out.getvalue(), re.M
    )
    assert [row[0].split(" (")[0] for row in rows] == ["torch", "onnx runtime alone", "onnx"]
    assert len({row[4] for row in rows}) == 1
    assert all(float(row[5]) > 0.999 for row in rows)
    assert "ONNX Runtime alone / torch: one prompt" in out.getvalue()

"""`manage.py benchmark_serving`: what serving costs as the data grows, measured in databases of its own."""

import io
import re

from django.core.management import call_command
from threadpoolctl import threadpool_info

from training.encoder import embed


def test_it_prints_a_row_of_measurements_per_size(hwu64, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join((hwu64 / "train.jsonl").read_text(encoding="utf-8").splitlines()[:400]) + "\n")
    out = io.StringIO()
    call_command("benchmark_serving", sizes=[150, 300], requests=10, data=str(data), stdout=out)
    rows = re.findall(
        r"^\| ([\d,]+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", out.getvalue(), re.M
    )
    assert [row[0] for row in rows] == ["150", "300"]
    assert all(float(p50) <= float(p95) for _, _, p50, p95, *_ in rows)
    assert all(int(one_by_one) > 0 and int(batched) > 0 for *_, one_by_one, batched, _, _ in rows)


def test_numpy_and_scipy_leave_the_cores_to_torch():
    embed(["load the encoder and everything it brings"])
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["internal_api"] == "openblas"]
    assert blas and set(blas) == {1}

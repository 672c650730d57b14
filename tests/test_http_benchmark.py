"""`manage.py benchmark_http`: serving speed over real HTTP against bin/serve, side by side with the bare
model call, in a data directory of its own."""

import io
import re

from django.core.management import call_command


def test_it_prints_each_concurrency_and_the_ratios_with_every_answer_stored(hwu64):
    out = io.StringIO()
    call_command("benchmark_http", clients=[1, 3], seconds=2, prompts=str(hwu64 / "test.jsonl"), stdout=out)
    lines = re.findall(
        r"^\| classify over HTTP, (\d+) clients? \| [\d.]+ \| [\d.]+ \| [\d.]+ \| (\d+) \| (\d+) / (\d+) \|$",
        out.getvalue(),
        re.M,
    )
    assert [clients for clients, *_ in lines] == ["1", "3"]
    assert all(errors == "0" and stored == answered != "0" for _, errors, stored, answered in lines)
    assert re.search(
        r"^\| /classify/batch, 64 a call, 1 client \| [\d.]+ \| \d+ \(a call\) \| \| 0 \| (\d+) / \1 \|$",
        out.getvalue(),
        re.M,
    )
    assert "| throughput, 16 clients / 1 client |" not in out.getvalue()  # no 16-client line was measured
    assert re.search(r"^\| HTTP p50, 1 client / bare one-prompt p50 \| [\d.]+x \| <= 1\.3x \|$", out.getvalue(), re.M)

"""JSONL import (validation, error report by line, atomicity) and export (the design's files)."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import seed_lines
from training.models import Example, Source

GOOD = '{"prompt": "Find my notes about the migration", "subject": "Note", "action": "Find", "category": "Knowledge"}'


def write(tmp_path, lines, name="in.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_it_imports_a_valid_file(db, tmp_path, capsys):
    call_command("import_jsonl", str(write(tmp_path, seed_lines())), source="base")
    assert Example.objects.filter(source=Source.BASE).count() == len(seed_lines())
    assert "Imported 69 base example(s)" in capsys.readouterr().out


def test_it_reports_each_bad_line_by_number_and_imports_nothing(db, tmp_path):
    lines = [
        GOOD,
        "{not json",
        '{"prompt": "only a prompt here"}',
        GOOD.replace('"Note"', '""'),
        GOOD.replace('"Find my notes about the migration"', "7"),
        "[1, 2]",
        GOOD.replace('"Knowledge"', '"Unknown"'),
    ]
    with pytest.raises(CommandError) as error:
        call_command("import_jsonl", str(write(tmp_path, lines)), source="base")
    message = str(error.value)
    assert "6 invalid line(s); nothing was imported" in message
    assert "line 2: not valid JSON" in message
    assert 'line 3: missing "subject", "action", "category"' in message
    assert 'line 4: "subject" must be a non-empty string' in message
    assert 'line 5: "prompt" must be a non-empty string' in message
    assert "line 6: expected a JSON object" in message
    assert 'line 7: "category" cannot be "Unknown"' in message
    assert Example.objects.count() == 0


def test_skip_invalid_imports_the_good_lines(db, tmp_path):
    call_command("import_jsonl", str(write(tmp_path, [GOOD, "{broken"])), source="live", skip_invalid=True)
    assert Example.objects.get().source == Source.LIVE


def test_importing_twice_adds_nothing_the_second_time(db, tmp_path):
    path = write(tmp_path, seed_lines())
    call_command("import_jsonl", str(path), source="base")
    call_command("import_jsonl", str(path), source="base")
    assert Example.objects.count() == len(seed_lines())


def test_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_jsonl", str(tmp_path / "nope.jsonl"), source="base")


def test_export_writes_the_design_file_names(seeded, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call_command("export_jsonl", source="base")
    lines = (tmp_path / "intentions_base.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == json.loads(seed_lines()[0])
    assert set(json.loads(lines[0])) == {"prompt", "subject", "action", "category"}


def test_export_import_export_gives_the_same_bytes(db, tmp_path, django_db_blocker):
    call_command(
        "import_jsonl",
        str(
            write(
                tmp_path,
                [
                    *seed_lines(),
                    '{"prompt": "Résumé de mes notes, s\'il te plaît", '
                    '"subject": "Note", "action": "Think", "category": "Knowledge"}',
                ],
            )
        ),
        source="live",
    )
    first = tmp_path / "first.jsonl"
    call_command("export_jsonl", str(first), source="live")
    Example.objects.all().delete()
    call_command("import_jsonl", str(first), source="live")
    second = tmp_path / "second.jsonl"
    call_command("export_jsonl", str(second), source="live")
    assert first.read_bytes() == second.read_bytes()
    assert "Résumé".encode() in first.read_bytes()


def test_a_file_saved_with_a_byte_order_mark_imports(db, tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text(
        '{"prompt": "find my notes on kubernetes", "subject": "Note", "action": "Find", "category": "Knowledge"}\n',
        encoding="utf-8-sig",
    )
    call_command("import_jsonl", str(path), source="base")
    assert Example.objects.get().prompt == "find my notes on kubernetes"


def test_a_prompt_repeated_with_other_labels_is_reported_not_resolved(db, tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text(
        '{"prompt": "find my notes", "subject": "Note", "action": "Find", "category": "Knowledge"}\n'
        '{"prompt": "Find my  notes", "subject": "Note", "action": "Search", "category": "Knowledge"}\n'
    )
    with pytest.raises(CommandError, match="line 2: the same prompt as line 1 with other labels"):
        call_command("import_jsonl", str(path), source="base")
    assert not Example.objects.exists()

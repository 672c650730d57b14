from django.core.management.base import BaseCommand, CommandError

from training.datasets import InvalidDataset, import_jsonl
from training.models import Source


class Command(BaseCommand):
    help = "Import triplets from a JSONL file; a file with errors imports nothing unless --skip-invalid."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--source", required=True, choices=Source.values)
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid lines anyway")

    def handle(self, *args, file, source, skip_invalid, **options) -> None:
        try:
            with open(file, encoding="utf-8") as lines:
                result = import_jsonl(lines, source, skip_invalid=skip_invalid)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text.") from None
        except InvalidDataset as invalid:
            raise CommandError(
                f"{file} has {len(invalid.errors)} invalid line(s); nothing was imported "
                f"(fix them or pass --skip-invalid):\n{invalid}"
            ) from None
        for number, message in result.errors:
            self.stderr.write(f"skipped line {number}: {message}")
        self.stdout.write(
            f"Imported {result.created} {source} example(s); {result.duplicates} already present, "
            f"{len(result.errors)} invalid line(s) skipped."
        )

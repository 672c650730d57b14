import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand

from training.datasets import EXPORT_FILES, export_jsonl
from training.models import Source


class Command(BaseCommand):
    help = (
        "Export one source as JSONL "
        "(base: intentions_base.jsonl, batch: batch_dataset.jsonl, live: live_dataset.jsonl)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", required=True, choices=Source.values)
        parser.add_argument("file", nargs="?", help="default: the design's file name for the source")

    def handle(self, *args, source, file, **options) -> None:
        target = Path(file or EXPORT_FILES[source])
        # Write beside the target and rename, so a failed export never leaves half a file.
        fd, temporary = tempfile.mkstemp(dir=target.parent.resolve(), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            export_jsonl(source, out)
        os.replace(temporary, target)
        self.stdout.write(f"Wrote {target}")

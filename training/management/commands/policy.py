"""Print the learning policy's configuration table (docs/operations.md holds the same), or this process's values."""

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from training.policy import current, markdown_table


class Command(BaseCommand):
    help = "Print the configuration table of the learning policy, or with --current the values in force."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--current", action="store_true", help="the values this environment gives, as JSON")

    def handle(self, *args, **options) -> None:
        if options["current"]:
            self.stdout.write(json.dumps(asdict(current()), indent=2))
        else:
            self.stdout.write(markdown_table())

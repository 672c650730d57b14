from django.core.management.base import BaseCommand

from training.liveness import recover_stale_runs


class Command(BaseCommand):
    help = "Mark failed the training runs whose worker died (bin/serve runs it when it stops the worker)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{recover_stale_runs()} training run(s) marked failed.")

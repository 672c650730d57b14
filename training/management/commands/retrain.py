from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from training.models import TrainingRun
from training.pipeline import execute
from training.triggers import TrainingBusy, create_run, enqueue


class Command(BaseCommand):
    help = "Retrain the heads: enqueue for the worker, or --wait to train here with a progress bar."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--wait", action="store_true", help="train in the foreground")
        parser.add_argument("--force", action="store_true", help="train even when nothing is new")

    def handle(self, *args, wait, force, **options) -> None:
        try:
            if not wait:
                run = enqueue(TrainingRun.Trigger.MANUAL, force=force)
                self.stdout.write(f"Queued training run #{run.pk}; the worker (make run) will pick it up.")
                return
            run = create_run(TrainingRun.Trigger.MANUAL, force=force)
        except TrainingBusy as busy:
            if not (wait and busy.run.status == TrainingRun.Status.QUEUED):
                raise CommandError(str(busy)) from None
            run = busy.run  # nobody may be running the worker: train the queued run here
            self.stdout.write(f"Training the queued run #{run.pk} here.")
        run = self._run_with_bar(run)
        self._report(run)

    def _run_with_bar(self, run):
        with tqdm(total=100, unit="%", file=self.stderr._out, bar_format="{desc:<40} {bar} {n:3.0f}%") as bar:

            def report(stage, percent):
                bar.n = percent
                bar.set_description_str(stage)  # one refresh, so the stage and its percent show together

            return execute(run, report=report)

    def _report(self, run):
        if run.is_open:
            raise CommandError(f"The worker took training run #{run.pk} first; follow it on the dashboard.")
        if run.status == TrainingRun.Status.FAILED:
            raise CommandError(f"Training run #{run.pk} failed: {run.error}")
        if run.status == TrainingRun.Status.SKIPPED:
            self.stdout.write(f"{run.decision} Use --force to train anyway.")
            return
        holdout = run.version.metrics.get("holdout") or {}
        self.stdout.write(
            f"Trained model v{run.version.number} on {run.summary['trained_on']} examples "
            f"(holdout {run.summary['holdout']}, exact {holdout.get('exact', float('nan')):.3f}). "
            f"{run.decision}"
        )
        if how_close := run.version.card.certificate.how_close:
            self.stdout.write(f"No whole triplet is auto-accepted yet. {how_close}")

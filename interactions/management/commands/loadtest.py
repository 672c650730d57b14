import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interactions.live_server import Load, Server
from interactions.simulation import read_triplets


class Command(BaseCommand):
    help = (
        "Load-and-fault benchmark: N clients classify for S seconds against the real server (bin/serve, "
        "a data directory of its own) while a retrain is queued, the worker is killed with SIGKILL during "
        "it, a second retrain is queued and a version is promoted by hand; prints the latency, the "
        "answers by status and whether every answered prompt was stored exactly once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clients", type=int, default=32)
        parser.add_argument("--seconds", type=int, default=60)

    def handle(self, *args, clients, seconds, **options) -> None:
        work = Path(tempfile.mkdtemp(prefix="secondmind-load-"))  # kept when something fails, for its logs
        server = Server(work)
        server.prepare()
        try:
            server.start()
            load, faults = self.load_with_faults(server, clients, seconds)
        finally:
            server.stop()
        checks = verify(server, load, faults)
        self.print_report(clients, seconds, load, faults, checks)
        if not all(passed for _, passed, _ in checks):
            raise CommandError(f"Some checks failed (above); the server's data and log are in {work}.")
        shutil.rmtree(work)

    def load_with_faults(self, server, clients, seconds):
        load, faults = Load(server, clients, read_prompts()), Faults(server, seconds)
        script = threading.Thread(target=faults.run, daemon=True)
        script.start()
        load.run(seconds)
        script.join(timeout=15 * 60)
        if faults.last_run is None:
            raise CommandError(f"The fault script did not get to the last retrain; see {server.work}/serve.log")
        faults.wait_while_open(faults.last_run)
        faults.note(f"run #{faults.last_run} {faults.run_status(faults.last_run)}")
        return load, faults

    def print_report(self, clients, seconds, load, faults, checks) -> None:
        latencies = sorted(load.latencies)
        statuses = Counter(status for status, _ in load.answers)
        self.stdout.write("\n| clients | seconds | requests | per second | p50 ms | p99 ms | answers by status |")
        self.stdout.write("|---:|---:|---:|---:|---:|---:|---|")
        self.stdout.write(
            f"| {clients} | {seconds} | {len(load.answers)} | {len(load.answers) / seconds:.1f} "
            f"| {1000 * statistics.median(latencies):.0f} | {1000 * latencies[int(0.99 * (len(latencies) - 1))]:.0f} "
            f"| {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))} |"
        )
        self.stdout.write("\n| at s | event |\n|---:|---|")
        for at, event in faults.events:
            self.stdout.write(f"| {at:.1f} | {event} |")
        self.stdout.write("\n| check | result | detail |\n|---|:---:|---|")
        for name, passed, detail in checks:
            self.stdout.write(f"| {name} | {'pass' if passed else 'FAIL'} | {detail} |")


def read_prompts():
    return [record["prompt"] for record in read_triplets(settings.SECONDMIND_SEED_FILE)]


class Faults:
    """What happens to the server during the load, at fixed shares of its length."""

    def __init__(self, server, seconds):
        self.server, self.seconds = server, seconds
        self.events, self.killed_run, self.last_run, self.promoted = [], None, None, None
        self.started = time.monotonic()

    def at(self, share) -> None:
        time.sleep(max(0.0, self.started + share * self.seconds - time.monotonic()))

    def note(self, event) -> None:
        self.events.append((time.monotonic() - self.started, event))

    def run(self) -> None:
        self.at(0.1)
        self.killed_run = self.queue_retrain()
        self.at(0.3)
        self.kill_the_worker()
        self.at(0.5)
        self.promoted = self.promote_the_other_version()
        self.wait_while_open(self.killed_run)
        self.note(
            f"run #{self.killed_run} {self.run_status(self.killed_run)}, "
            f"{time.monotonic() - self.killed_at:.0f} s after the kill"
        )
        self.last_run = self.queue_retrain()

    def kill_the_worker(self) -> None:
        for _ in range(60):  # the worker takes the queued run within seconds
            if self.run_status(self.killed_run) != "queued":
                break
            time.sleep(0.5)
        pid = self.server.worker_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
        self.killed_at = time.monotonic()
        self.note(
            f"worker (pid {pid}) killed with SIGKILL; run #{self.killed_run} was {self.run_status(self.killed_run)}"
        )

    def queue_retrain(self):
        """The run `retrain --force` queued, or the open one it was refused for (the traffic trigger fires
        every few hundred prompts under this load)."""
        try:
            self.server.manage("retrain", "--force")
            how = "retrain queued"
        except subprocess.CalledProcessError as refused:
            why = (refused.stderr or "").strip().splitlines()[-1:]
            how = f"retrain refused ({''.join(why)}), so following"
        with self.server.database() as db:
            run_id, trigger = db.execute(
                "select id, trigger from training_trainingrun where status in ('queued', 'running') order by id"
            ).fetchone() or (None, None)
        if run_id is None:
            raise CommandError(f"No training run is open after {how}.")
        self.note(f"{how}: run #{run_id} ({trigger})")
        return run_id

    def promote_the_other_version(self):
        with self.server.database() as db:
            number = db.execute(
                "select number from training_modelversion where status != 'active' order by number limit 1"
            ).fetchone()[0]
            self.newest_before = db.execute("select max(number) from training_modelversion").fetchone()[0]
        status, _ = self.server.call("POST", f"/models/{number}/promote", {"reason": "load test: promoted by hand"})
        self.note(f"v{number} promoted by hand through the API: {status}")
        self.promoted_at = time.monotonic() - self.started
        return number if status == 200 else None

    def wait_while_open(self, run_id, minutes=10) -> None:
        deadline = time.monotonic() + 60 * minutes
        while time.monotonic() < deadline and self.run_status(run_id) in ("queued", "running"):
            time.sleep(2)

    def run_status(self, run_id):
        with self.server.database() as db:
            return db.execute("select status from training_trainingrun where id = ?", (run_id,)).fetchone()[0]


def verify(server, load, faults):
    """(check, passed, detail) for what the benchmark promises."""
    ok = [body for status, body in load.answers if status == 200]
    ids = [body["interaction_id"] for body in ok]
    with server.database() as db:
        stored = {row[0] for row in db.execute("select id from interactions_interaction")}
        killed = db.execute(
            "select status, error from training_trainingrun where id = ?", (faults.killed_run,)
        ).fetchone()
        active = db.execute("select number from training_modelversion where status = 'active'").fetchone()[0]
    # after the promotion every answer comes from it, or from a version the last run trained and promoted
    after = {body["model_version"] for body in ok if body["answered_at"] > faults.promoted_at + 1}
    stale = {number for number in after if number != faults.promoted and number <= faults.newest_before}
    server_errors = sum(1 for status, _ in load.answers if status >= 500 or status == 0)
    return [
        (
            "every 200 stored once",
            len(stored) == len(ok) and set(ids) == stored,
            f"{len(ok)} answered 200, {len(stored)} rows",
        ),
        ("interaction ids unique", len(set(ids)) == len(ids), f"{len(ids) - len(set(ids))} repeated"),
        ("no server errors", server_errors == 0, f"{server_errors} 5xx or refused connections"),
        ("the killed run was marked failed", killed[0] == "failed", f"{killed[0]}: {killed[1]}"),
        (
            "the next run succeeded",
            faults.run_status(faults.last_run) == "succeeded",
            f"run #{faults.last_run}: {faults.run_status(faults.last_run)}",
        ),
        (
            "answers after the promotion come from the promoted version",
            faults.promoted is not None and not stale,
            f"v{faults.promoted} promoted, answers after it from {sorted(after)}, active now v{active}",
        ),
        (
            "SIGTERM stopped the server within 30 s",
            server.stop_seconds is not None and server.stop_seconds <= 30,
            f"{server.stop_seconds:.1f} s" if server.stop_seconds is not None else "it had stopped before",
        ),
    ]

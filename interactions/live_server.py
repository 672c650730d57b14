"""bin/serve over a fresh data directory, and clients that load it: for the HTTP benchmark and the load test."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from secondmind import isolated


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """bin/serve over a fresh data directory: set up, one retrain done (so two versions exist), a token."""

    def __init__(self, work, **env):
        self.work, self.port = work, free_port()
        # the per-token limit would turn this load into 429s; everything else is as shipped, or `env`
        self.env = isolated.environment(
            work, BIND=f"127.0.0.1:{self.port}", SECONDMIND_API_RATE_LIMIT="1000000", LOG_LEVEL="WARNING", **env
        )
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.process, self.stop_seconds = None, None

    def manage(self, *arguments) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=settings.BASE_DIR,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def prepare(self, versions=2) -> None:
        sys.stderr.write(f"Setting up a fresh data directory and training {versions} version(s)...\n")
        self.manage("setup")
        for _ in range(versions - 1):
            self.manage("retrain", "--wait", "--force")
        self.token = self.manage("create_api_token", "admin", "--name", "loadtest").strip()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["bin/serve"],
            cwd=settings.BASE_DIR,
            env=self.env,
            start_new_session=True,
            stdout=(self.work / "serve.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(120):
            if self.call("GET", "/models/active")[0] == 200:
                return
            time.sleep(0.5)
        raise CommandError(f"bin/serve did not answer in 60 s; see {self.work / 'serve.log'}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            began = time.monotonic()
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
            self.stop_seconds = time.monotonic() - began

    def call(self, method, path, body=None) -> tuple[int, dict | list | None]:
        """(status, parsed JSON or None); status 0 when the connection failed."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            if hasattr(self, "token")
            else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, None
        except OSError:
            return 0, None

    def worker_pid(self) -> int | None:
        """The django-q2 cluster bin/serve started (its direct child running qcluster)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                command = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and b"qcluster" in command:
                return int(stat.parent.name)
        return None

    def database(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.work / 'secondmind.sqlite3'}?mode=ro", uri=True)


class Load:
    """`clients` threads classifying seed prompts as fast as they are answered."""

    def __init__(self, server, clients, prompts):
        self.server, self.clients, self.prompts = server, clients, prompts
        self.answers, self.latencies = [], []  # (status, body); list.append is atomic

    def run(self, seconds) -> None:
        self.started = time.monotonic()
        stop_at = self.started + seconds
        threads = [threading.Thread(target=self.client, args=(number, stop_at)) for number in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def client(self, number, stop_at) -> None:
        sent = 0
        while time.monotonic() < stop_at:
            prompt = self.prompts[(number * 7 + sent) % len(self.prompts)]
            began = time.monotonic()
            status, body = self.server.call("POST", "/classify", {"prompt": prompt})
            self.latencies.append(time.monotonic() - began)
            self.answers.append((status, body and {**body, "answered_at": time.monotonic() - self.started}))
            sent += 1

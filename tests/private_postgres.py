"""A PostgreSQL server of the test's own (initdb in a temporary folder, a free loopback port), so that a test may
stop and restart the database under running nodes without touching the machine's server that every other test
shares. Needs the server binaries (Debian's postgresql package: /usr/lib/postgresql/<version>/bin); as root it
runs them as the `postgres` user, since PostgreSQL refuses to run as root."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import free_port


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    def __init__(self) -> None:
        bin_dir = _binaries()
        if bin_dir is None:
            if os.environ.get("CI") == "true":
                pytest.fail("no PostgreSQL server binaries (pg_ctl) for a private database", pytrace=False)
            pytest.skip("no PostgreSQL server binaries (pg_ctl) on this machine")
        self.bin = bin_dir
        # Not under pytest's tmp_path: that is private to root (0700), and the server runs as `postgres`.
        self.folder = Path(tempfile.mkdtemp(prefix="samtal-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/samtal"

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE samtal")

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash: every backend is killed without a checkpoint; what was committed survives
        in the write-ahead log and is replayed at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.folder, ignore_errors=True)

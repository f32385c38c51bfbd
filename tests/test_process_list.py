"""The process lists people deploy from (Procfile, docker-compose.yml) cover every queue of SPEC §1.

The queues come from one place, tutormax.config; a deployment file that forgets one
leaves that queue's messages with no consumer, which nothing else would notice.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from tutormax.config import ALL_QUEUES, DOMAINS, PIPELINE_QUEUES, RECOMPUTE_QUEUES

ROOT = Path(__file__).resolve().parent.parent


def celery_commands() -> dict[str, list[list[str]]]:
    """The celery command lines of each deployment file, as argument lists."""
    procfile = [shlex.split(line.partition(":")[2]) for line in (ROOT / "Procfile").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = []
    for service in compose["services"].values():
        command = service.get("command")
        if isinstance(command, list) and command[:2] == ["sh", "-c"]:
            command = shlex.split(command[2])
        elif isinstance(command, str):
            command = shlex.split(command)
        services.append(command or [])
    return {
        name: [args for args in commands if args[:1] == ["celery"]]
        for name, commands in (("Procfile", procfile), ("docker-compose.yml", services))
    }


def consumed_queues(commands: list[list[str]]) -> list[str]:
    """Every queue named after `-Q` by a worker command (repeats kept)."""
    queues = []
    for args in commands:
        if "worker" in args:
            assert "-Q" in args, f"a worker without -Q consumes the default queue only: {args}"
            queues += args[args.index("-Q") + 1].split(",")
    return queues


def test_the_queue_list_has_one_source():
    assert PIPELINE_QUEUES == ("ingest", "enrich", "persist")
    assert RECOMPUTE_QUEUES == tuple(f"recompute.{domain}" for domain in DOMAINS)
    assert ALL_QUEUES == PIPELINE_QUEUES + RECOMPUTE_QUEUES + ("maintenance",)


def test_every_deployment_file_consumes_every_queue_once_and_runs_one_beat():
    for name, commands in celery_commands().items():
        queues = consumed_queues(commands)
        assert sorted(queues) == sorted(ALL_QUEUES), f"{name} consumes {sorted(queues)}"
        beats = [args for args in commands if "beat" in args]
        assert len(beats) == 1, f"{name} must run exactly one beat, runs {len(beats)}"


def test_a_forgotten_queue_is_noticed():
    commands = celery_commands()["Procfile"]
    without_essays = [[part.replace(",recompute.essays", "") for part in args] for args in commands]
    assert "recompute.essays" not in consumed_queues(without_essays)
    assert sorted(consumed_queues(without_essays)) != sorted(ALL_QUEUES)

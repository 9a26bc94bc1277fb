"""The production deploy files (deploy/compose.yaml, deploy/Dockerfile) checked by parsing them
against the code: every role of the CLI is a service, every command and variable is real, each
role reaches the services it needs, secrets are placeholders. No Docker engine is needed."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
import yaml

from infrastructure.settings import load_settings
from interfaces.cli import main
from interfaces.http.controllers.health import HealthController

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGE_DOCKERFILE = "deploy/Dockerfile"

# CLI commands that are not roles of a deployment: every other command of `smartqueue` must run
# as a service of the compose file, so a new role cannot be forgotten there.
OPERATOR_COMMANDS = {
    "dev": "everything in one process on the embedded services, for development",
    "create-tenant": "run once by an operator (docker compose run --rm api smartqueue ...)",
    "create-platform-admin": "run once by an operator",
    "mail": "prints what the mail catcher of `dev` caught (development only)",
}

# What each role connects to. Without DATABASE_URL, REDIS_URL or KAFKA_BOOTSTRAP_SERVERS a role
# silently starts an embedded server inside its own container, which is never what production
# wants. build_container (api, projections, gateway, worker) opens Redis; the relay and migrate
# use the log only; relay and gateway resolve the broker.
NEEDS = {
    "migrate": {"DATABASE_URL", "MIGRATION_DATABASE_URL"},
    "api": {"DATABASE_URL", "REDIS_URL", "SMARTQUEUE_JWT_SECRET"},
    "projections": {"DATABASE_URL", "REDIS_URL"},
    "relay": {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"},
    "gateway": {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"},
    "worker": {"DATABASE_URL", "REDIS_URL"},
    "notifier": {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"},
    "jobs": {"DATABASE_URL", "REDIS_URL"},
    "analytics-sink": {"KAFKA_BOOTSTRAP_SERVERS"},  # Kafka only, as a downstream team
}
# The service each connection variable points at, which the role must wait for.
BACKING_SERVICE = {
    "DATABASE_URL": "postgres",
    "MIGRATION_DATABASE_URL": "postgres",
    "REDIS_URL": "redis",
}
SECRETS = {"SMARTQUEUE_JWT_SECRET", "POSTGRES_PASSWORD", "SMARTQUEUE_DB_PASSWORD"}
# Each database login's password variable: the runtime login owns nothing, the owner migrates.
DATABASE_PASSWORDS = {
    "DATABASE_URL": "SMARTQUEUE_DB_PASSWORD",
    "MIGRATION_DATABASE_URL": "POSTGRES_PASSWORD",
}
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?[^}]*\}")
INTERPOLATION = re.compile(r"\$\{(\w+)[^}]*\}")


def interpolated(value: object) -> str:
    """``value`` with each compose ``${NAME...}`` replaced by ``from-env-NAME``, so that a URL
    holding one parses (its ``:?message`` would otherwise end the URL's host part)."""
    return INTERPOLATION.sub(lambda match: f"from-env-{match[1]}", str(value))


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def role_services(spec: dict) -> dict[str, dict]:
    """The services built from the SmartQueue image."""
    return {
        name: service
        for name, service in spec["services"].items()
        if service.get("build", {}).get("dockerfile") == IMAGE_DOCKERFILE
    }


def resolve(argv: list[str]) -> tuple[str, ...]:
    """The CLI command path of ``argv`` (e.g. ``("projections",)``), parsed by click itself so
    an unknown command, option or bad value fails."""
    assert argv[0] == "smartqueue", argv
    command: click.Command = main
    args, path = list(argv[1:]), []
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        path.append(args[0])
        command = command.commands[args.pop(0)]
    if isinstance(command, click.Group) and args:
        raise click.UsageError(f"no command {args[0]!r} in {' '.join(argv)}")
    assert path, f"{argv} names no command"
    command.make_context(" ".join(["smartqueue", *path]), args)
    return tuple(path)


def roles() -> set[str]:
    return set(main.commands) - set(OPERATOR_COMMANDS)


class RecordingEnvironment(Mapping[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def settings_variables() -> set[str]:
    environment = RecordingEnvironment()
    load_settings(environment)
    return environment.names


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    instructions, pending = [], ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_role_of_the_cli_runs_as_its_own_service() -> None:
    services = role_services(compose())
    running = {resolve(service["command"]) for service in services.values()}
    missing = {role for role in roles() if (role,) not in running}
    assert not missing, f"roles without a service in deploy/compose.yaml: {sorted(missing)}"
    operators = {path[0] for path in running} & set(OPERATOR_COMMANDS)
    assert not operators, f"operator commands are not services: {sorted(operators)}"


def test_each_service_command_and_the_image_default_are_real_cli_commands() -> None:
    for name, service in role_services(compose()).items():
        assert isinstance(service["command"], list), f"{name}: exec form, no shell"
        resolve(service["command"])
    (default,) = [json.loads(arguments) for keyword, arguments in dockerfile() if keyword == "CMD"]
    assert resolve(default) == ("api",)


def test_a_misspelt_command_or_option_is_caught() -> None:
    for argv in (
        ["smartqueue", "projection"],
        ["smartqueue", "relay", "statuss"],
        ["smartqueue", "api", "--wokers", "2"],
        ["smartqueue", "api", "--workers", "two"],
    ):
        with pytest.raises(click.ClickException):
            resolve(argv)


def test_every_variable_given_to_a_role_is_read_by_the_settings() -> None:
    known = settings_variables()
    assert {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= known
    for name, service in role_services(compose()).items():
        unknown = set(service.get("environment", {})) - known
        assert not unknown, f"{name}: no setting reads {sorted(unknown)}"
    for keyword, arguments in dockerfile():
        if keyword == "ENV":
            for variable in re.findall(r"(\w+)=", arguments):
                assert variable in known or variable.startswith("PYTHON"), variable


@pytest.mark.parametrize("role", sorted(NEEDS))
def test_each_role_reaches_the_services_it_needs_and_waits_for_them(role: str) -> None:
    spec = compose()
    [service] = [s for s in role_services(spec).values() if resolve(s["command"]) == (role,)]
    environment = service.get("environment", {})
    assert NEEDS[role] <= set(environment), f"{role} lacks {NEEDS[role] - set(environment)}"
    waits_for = service.get("depends_on", {})
    for variable in NEEDS[role] & {*BACKING_SERVICE, "KAFKA_BOOTSTRAP_SERVERS"}:
        value = interpolated(environment[variable])
        if variable == "KAFKA_BOOTSTRAP_SERVERS":
            hosts = {address.rsplit(":", 1)[0] for address in value.split(",")}
        else:
            hosts = {urlsplit(value).hostname}
        for host in hosts:
            assert host in spec["services"], f"{role}: {variable} points at unknown {host}"
            if role != "api" or host != "kafka":  # the API never waits for the broker
                assert waits_for.get(host) == {"condition": "service_healthy"}, (role, host)
    if role != "migrate":
        assert waits_for.get("migrate") == {"condition": "service_completed_successfully"}


def test_every_role_is_listed_with_the_services_it_needs() -> None:
    assert set(NEEDS) == roles(), "a new role: say in NEEDS what it connects to"


def test_the_broker_runs_in_kraft_mode_and_advertises_the_address_the_roles_use() -> None:
    spec = compose()
    kafka = spec["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    environment = kafka["environment"]
    assert "controller" in environment["KAFKA_PROCESS_ROLES"].split(",")
    assert "broker" in environment["KAFKA_PROCESS_ROLES"].split(",")
    relay = next(s for s in role_services(spec).values() if resolve(s["command"]) == ("relay",))
    partitions = relay["environment"].get("KAFKA_TOPIC_PARTITIONS", 3)
    assert int(environment["KAFKA_NUM_PARTITIONS"]) == int(partitions), "topics made either way"
    listeners = environment["KAFKA_ADVERTISED_LISTENERS"].split(",")
    advertised = {listener.split("://", 1)[1] for listener in listeners}
    for name, service in role_services(spec).items():
        bootstrap = service.get("environment", {}).get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap:
            assert set(bootstrap.split(",")) <= advertised, name


def test_the_backing_services_have_health_checks_and_everything_restarts() -> None:
    spec = compose()
    for name in ("postgres", "redis", "kafka"):
        assert spec["services"][name]["healthcheck"]["test"], name
    for name, service in spec["services"].items():
        expected = {"no"} if name == "migrate" else {"always", "unless-stopped", "on-failure"}
        assert service.get("restart") in expected, name


def test_only_the_api_keeps_the_images_http_health_check() -> None:
    for name, service in role_services(compose()).items():
        disabled = service.get("healthcheck", {}).get("disable", False)
        assert disabled == (resolve(service["command"]) != ("api",)), name


def test_the_api_runs_more_than_one_process() -> None:
    [api] = [s for s in role_services(compose()).values() if resolve(s["command"]) == ("api",)]
    command = api["command"]
    workers = int(command[command.index("--workers") + 1]) if "--workers" in command else 1
    assert max(workers, api.get("deploy", {}).get("replicas", 1)) >= 2


def test_secrets_are_required_placeholders_never_values() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    spec = compose()
    for name, service in spec["services"].items():
        for variable, value in service.get("environment", {}).items():
            if variable in SECRETS:
                assert REQUIRED_VARIABLE.fullmatch(str(value)), f"{name}: {variable}={value}"
            if variable in DATABASE_PASSWORDS:
                assert REQUIRED_VARIABLE.search(str(value)), f"{name}: a password in the URL"
                password = urlsplit(interpolated(value)).password
                assert password == f"from-env-{DATABASE_PASSWORDS[variable]}", f"{name}: {value}"
    example = dict(re.findall(r"^(\w+)=(.*)$", (DEPLOY / ".env.example").read_text(), re.M))
    assert set(REQUIRED_VARIABLE.findall(text)) <= set(example), "deploy/.env.example is incomplete"
    # Empty, so that compose refuses to start until real values replace them.
    assert not any(example[name].strip() for name in SECRETS), "a usable secret in .env.example"
    assert "deploy/.env" in (ROOT / ".gitignore").read_text().split()


def test_the_image_copies_every_top_level_package_and_nothing_else_reaches_the_build() -> None:
    find = pyproject()["tool"]["setuptools"]["packages"]["find"]
    packages = {name.rstrip("*") for name in find["include"]}
    assert packages == {"domain", "application", "projections", "interfaces", "infrastructure"}
    copied = {
        source
        for keyword, arguments in dockerfile()
        if keyword == "COPY"
        for source in arguments.split()[:-1]
    }
    assert packages | {"pyproject.toml", "README.md"} <= copied
    allowed = {
        line[1:].strip().rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    assert copied <= allowed, "the Dockerfile copies what its .dockerignore keeps out"


def test_the_image_installs_without_dev_extras_and_runs_as_a_non_root_user() -> None:
    instructions = dockerfile()
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    installs = [arguments for arguments in runs if "pip install" in arguments]
    assert installs and all(re.search(r"pip install[^&]* \.(\s|$)", args) for args in installs)
    assert not any("[dev" in args for args in installs)
    users = [index for index, (keyword, _) in enumerate(instructions) if keyword == "USER"]
    assert users, "no USER: the roles would run as root"
    assert instructions[users[-1]][1] not in {"root", "0"}
    last_run = max(index for index, (keyword, _) in enumerate(instructions) if keyword == "RUN")
    assert users[-1] > last_run


def test_the_image_health_check_probes_the_api_liveness_in_python() -> None:
    [check] = [args for keyword, args in dockerfile() if keyword == "HEALTHCHECK"]
    argv = json.loads(check[check.index("CMD") + len("CMD") :])
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "HEALTHCHECK", "exec")  # valid Python
    assert "urllib.request" in argv[2]
    assert f"'{HealthController.path}/'" in argv[2]


def test_the_static_pages_are_package_data_of_the_installed_package() -> None:
    globs = pyproject()["tool"]["setuptools"]["package-data"]["interfaces.http"]
    static = ROOT / "interfaces" / "http" / "static"
    files = [path.relative_to(static.parent).as_posix() for path in static.iterdir()]
    assert files
    unpackaged = [name for name in files if not any(fnmatch(name, glob) for glob in globs)]
    assert not unpackaged, f"not in the wheel: {unpackaged}"


def test_the_roles_log_in_as_a_runtime_role_and_only_migrate_as_the_schema_owner() -> None:
    spec = compose()
    owner = spec["services"]["postgres"]["environment"]["POSTGRES_USER"]
    logins = {
        name: {
            variable: urlsplit(interpolated(value)).username
            for variable, value in service.get("environment", {}).items()
            if variable in DATABASE_PASSWORDS
        }
        for name, service in role_services(spec).items()
    }
    runtime = {login["DATABASE_URL"] for login in logins.values() if "DATABASE_URL" in login}
    assert len(runtime) == 1 and owner not in runtime, runtime
    with_owner = [name for name, login in logins.items() if "MIGRATION_DATABASE_URL" in login]
    assert with_owner == ["migrate"]
    assert logins["migrate"]["MIGRATION_DATABASE_URL"] == owner

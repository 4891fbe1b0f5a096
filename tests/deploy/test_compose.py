"""The deployment files, checked statically (no Docker engine runs here): both compose files
against the Compose Specification's schema and the plan's invariants, the Dockerfile with
hadolint, the settings template and the build context's exclusions."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from realtime.settings import Settings
from tests.support.server import ROOT

DEPLOY = ROOT / "deploy"
SCHEMA = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_TOKEN$|API_KEY|_PASS$")
VOLUMES = {
    "pg_data",
    "redis_data",
    "huggingface_cache",
    "webgl_build",
    "letsencrypt",
    "certbot_www",
    "prometheus_data",
    "grafana_data",
}
MONITORING = {"prometheus", "grafana", "redis-exporter", "postgres-exporter", "node-exporter"}
"""The services of the `monitoring` profile; every other service runs without a profile."""
PINNED = re.compile(r"^[a-z0-9./_-]+:v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$")
"""An image named with its full version (`prom/prometheus:v3.5.0`, `postgres:16.6-bookworm`)."""


ALL = ["prod", "dev", "hub", "redis-node"]
"""One box; development; a hub box and a Redis Cluster node of a deployment beyond one box."""


def compose(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / f"docker-compose.{name}.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("name", ALL)
def test_the_compose_file_is_valid_against_the_compose_specification(name: str) -> None:
    errors = sorted(
        jsonschema.Draft7Validator(SCHEMA).iter_errors(compose(name)), key=lambda e: e.path
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


@pytest.mark.parametrize("name", ALL)
def test_every_service_has_a_healthcheck_a_restart_policy_and_the_network(name: str) -> None:
    for service, spec in compose(name)["services"].items():
        assert spec.get("restart") in ("unless-stopped", "always"), service
        check = spec.get("healthcheck", {})
        assert check.get("test"), service
        assert not check.get("disable"), service
        assert spec.get("networks") == ["maratang-net"], service


def test_in_production_only_nginx_publishes_ports_beyond_the_loopback() -> None:
    services = compose("prod")["services"]
    public = {
        name
        for name, spec in services.items()
        for port in spec.get("ports", [])
        if not port.startswith("127.0.0.1:")
    }
    assert public == {"nginx"}
    assert services["nginx"]["ports"] == ["80:80", "443:443"]
    # /metrics and /admin, and Grafana: an operator's SSH tunnel reaches them, nobody else
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]
    published = {name for name, spec in services.items() if spec.get("ports")}
    assert published == {"nginx", "app", "grafana"}


@pytest.mark.parametrize("compose_name", ["prod", "hub", "redis-node"])
def test_every_image_is_pinned_to_a_version(compose_name: str) -> None:
    for name, spec in compose(compose_name)["services"].items():
        image = spec["image"].split("${", 1)[0]
        if name == "app":  # built here, tagged with the release
            assert spec["image"] == "maratang:${MARATANG_VERSION:-0.1.0}"
            continue
        assert PINNED.match(image), f"{name}: {image}"


def test_monitoring_runs_only_with_its_profile() -> None:
    services = compose("prod")["services"]
    profiled = {name for name, spec in services.items() if "profiles" in spec}
    assert profiled == MONITORING
    for name in MONITORING:
        assert services[name]["profiles"] == ["monitoring"], name
    for name, spec in services.items():  # nothing outside the profile waits for it
        if name not in MONITORING:
            assert not set(spec.get("depends_on", {})) & MONITORING, name
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}


def test_monitoring_mounts_its_configuration_read_only_and_keeps_its_data() -> None:
    services = compose("prod")["services"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "prometheus_data:/prometheus" in services["prometheus"]["volumes"]
    assert "grafana_data:/var/lib/grafana" in services["grafana"]["volumes"]
    command = services["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    for path in ("prometheus/prometheus.yml", "prometheus/alerts.yml", "grafana/provisioning"):
        assert (DEPLOY / path).exists(), path


def test_grafana_needs_an_admin_password_and_stays_private() -> None:
    grafana = compose("prod")["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-}"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    # a missing password stops the container rather than letting admin/admin in
    script = grafana["entrypoint"][-1]
    assert 'test -n "$$GF_SECURITY_ADMIN_PASSWORD" ||' in script
    assert script.endswith("exec /run.sh")


def test_the_exporters_watch_the_deployment_s_redis_and_postgresql() -> None:
    services = compose("prod")["services"]
    assert services["redis-exporter"]["environment"] == {"REDIS_ADDR": "redis://redis:6379"}
    postgres = services["postgres-exporter"]["environment"]
    assert postgres["DATA_SOURCE_URI"] == "db:5432/maratang?sslmode=disable"
    assert postgres["DATA_SOURCE_USER"] == services["db"]["environment"]["POSTGRES_USER"]
    assert postgres["DATA_SOURCE_PASS"].startswith("${POSTGRES_PASSWORD")


def test_production_has_the_planned_services_volumes_and_start_order() -> None:
    plan = compose("prod")
    services = plan["services"]
    assert set(services) == {"nginx", "app", "db", "redis", "vllm", "certbot"} | MONITORING
    assert set(plan["volumes"]) == VOLUMES
    assert plan["networks"] == {"maratang-net": {"driver": "bridge"}}
    assert services["app"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["nginx"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    app = services["app"]["environment"]
    assert app["MARATANG_ENV"] == "production"
    assert app["MARATANG_ENGINE"] == "redis://redis:6379/0"
    assert app["MARATANG_WORKERS"].startswith("${MARATANG_WORKERS")
    assert app["MARATANG_LLM_URL"] == "http://vllm:8000"


def test_vllm_runs_kanana_on_the_gpu_from_a_pinned_image() -> None:
    vllm = compose("prod")["services"]["vllm"]
    assert re.fullmatch(r"vllm/vllm-openai:v\d+\.\d+\.\d+", vllm["image"])
    assert vllm["ipc"] == "host"
    (device,) = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["capabilities"] == ["gpu"]
    flags = dict(flag.removeprefix("--").split("=", 1) for flag in vllm["command"] if "=" in flag)
    assert flags["model"] == "kakaocorp/kanana-1.5-8b-instruct-2505"
    assert (
        flags["served-model-name"]
        == compose("prod")["services"]["app"]["environment"]["MARATANG_LLM_MODEL"]
    )
    assert "huggingface_cache:/root/.cache/huggingface" in vllm["volumes"]
    assert vllm["healthcheck"]["start_period"] == "900s"


@pytest.mark.parametrize(("name", "server"), [("prod", "vllm"), ("dev", "llm-sim")])
def test_the_app_sends_priorities_only_to_a_server_that_schedules_by_them(
    name: str, server: str
) -> None:
    services = compose(name)["services"]
    command = " ".join(services[server]["command"]).replace("=", " ")
    assert "--scheduling-policy priority" in command
    assert services["app"]["environment"]["MARATANG_LLM_PRIORITY"] == "true"


@pytest.mark.parametrize("name", ALL)
def test_no_secret_value_is_written_in_a_compose_file(name: str) -> None:
    for service, spec in compose(name)["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert str(value).startswith("${"), f"{service}.{key} is inline"
            if key.endswith("DATABASE_URL") and not str(value).startswith("${"):
                password = str(value).split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
                assert password.startswith("${"), f"{service}.{key} has an inline password"


def test_development_binds_to_localhost_and_uses_the_simulator() -> None:
    services = compose("dev")["services"]
    assert "vllm" not in services
    assert services["llm-sim"]["command"][:2] == ["maratang", "llm-sim"]
    for name, spec in services.items():
        for port in spec.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"
            assert not port.endswith(":443")
    assert "--reload" in services["app"]["command"]


def test_the_settings_template_lists_every_setting_and_compose_variable() -> None:
    template = (DEPLOY / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z_]+)=", template, re.MULTILINE))
    settings = {f"MARATANG_{f.name.upper()}" for f in fields(Settings)}
    assert settings - listed == set()
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "docker-compose.prod.yml").read_text()))
    assert used - listed == set()
    for line in template.splitlines():
        if SECRET_NAME.search(line.split("=", 1)[0]) and "=" in line and not line.startswith("#"):
            assert line.endswith("="), f"a secret has a value in the template: {line}"


def test_real_env_files_are_ignored_by_git() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "deploy/.env", ".env.production"], cwd=ROOT, capture_output=True
    )
    assert ignored.returncode == 0
    kept = subprocess.run(["git", "check-ignore", "deploy/.env.example"], cwd=ROOT)
    assert kept.returncode == 1


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        ["hadolint", "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(Path(ROOT / ".venv" / "bin")) + ":/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_non_root_with_a_healthcheck() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", dockerfile, re.MULTILINE)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"ARG MARATANG_VERSION={version}" in dockerfile


def test_the_build_context_leaves_out_tests_docs_secrets_caches_and_the_unity_package() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for entry in ("tests", "docs", ".git", "**/.env", "**/.env.*", ".venv", "**/__pycache__"):
        assert entry in ignored, entry
    for client_side in ("webgl/js/tests", "webgl/unity", "webgl/template"):  # not the page
        assert client_side in ignored, client_side
    for monitoring in ("deploy/prometheus", "deploy/grafana"):
        assert monitoring in ignored, monitoring

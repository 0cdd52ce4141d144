"""docker-compose.yml describes the production topology; `docker compose config` is not
available here, so the file is parsed and checked."""
from __future__ import annotations

import re

import yaml

from tests.servers import ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_health_checks_and_start_order():
    services = compose()["services"]
    assert set(services) == {"nginx", "app", "worker", "mongo", "redis"}
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and len(check["test"]) > 1, name
        assert {"interval", "timeout", "retries"} <= set(check), name
    healthy = {"condition": "service_healthy"}
    assert services["nginx"]["depends_on"] == {"app": healthy}
    assert services["app"]["depends_on"] == {"mongo": healthy, "redis": healthy}
    assert services["worker"]["depends_on"] == {"mongo": healthy, "redis": healthy}
    assert "depends_on" not in services["mongo"] and "depends_on" not in services["redis"]


def test_app_runs_two_replicas_behind_the_shipped_nginx_config():
    services = compose()["services"]
    app, nginx = services["app"], services["nginx"]
    assert app["deploy"]["replicas"] == "${APP_REPLICAS:-2}"
    assert "ports" not in app  # only nginx is published
    assert nginx["volumes"] == [
        "./deploy/nginx/roundtable.conf:/etc/nginx/conf.d/default.conf:ro"]
    shipped = (ROOT / "deploy" / "nginx" / "roundtable.conf").read_text()
    assert re.search(r"^\s*server app:8000\b", shipped, re.M)
    env = app["environment"]
    assert env["TRUSTED_PROXIES"] == "1" and env["FLASK_ENV"] == "production"
    assert env["TRUSTED_PROXY_ADDRESSES"].startswith("${TRUSTED_PROXY_ADDRESSES:-")
    assert int(app["stop_grace_period"].rstrip("s")) > int(
        env["GRACEFUL_TIMEOUT"].split(":-")[1].rstrip("}"))


def test_configuration_comes_from_the_env_file_and_mongo_is_a_replica_set():
    services = compose()["services"]
    app = services["app"]
    assert app["env_file"] == [{"path": ".env", "required": False}]
    assert app["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "?replicaSet=rs0" in app["environment"]["MONGO_URI"]
    assert services["mongo"]["command"][:3] == ["mongod", "--replSet", "rs0"]
    assert "rs.initiate" in services["mongo"]["healthcheck"]["test"][-1]
    assert "--appendonly" in services["redis"]["command"]
    # Every ${VAR} the file reads is documented in .env.example.
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(),
                                re.M))
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    assert used - documented == set()


def test_worker_runs_the_job_consumer_from_the_app_image_with_its_own_health_check():
    services = compose()["services"]
    app, worker = services["app"], services["worker"]
    assert worker["build"] == app["build"] and worker["environment"] == app["environment"]
    assert worker["env_file"] == app["env_file"]
    assert worker["command"][0] == "flask" and worker["command"][-2:] == ["jobs", "worker"]
    assert worker["healthcheck"]["test"][-2:] == ["jobs", "health"]
    assert "ports" not in worker
    # The queue is Redis, where the app writes it; a stop lets running jobs finish.
    assert worker["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert int(worker["stop_grace_period"].rstrip("s")) >= 20


def test_the_worker_commands_exist(app):
    runner = app.test_cli_runner()
    for command in (["jobs", "worker", "--help"], ["jobs", "health"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output)
    assert runner.invoke(args=["jobs", "health"]).output.startswith("ok: 0 queued")

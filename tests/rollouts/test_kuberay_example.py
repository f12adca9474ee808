"""examples/kuberay: the RayCluster manifest uses only fields KubeRay documents, and wires
the sandbox resource, the Docker engine and the Ray version consistently."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import ray
import yaml

from sandgym.rollouts import SANDBOX_RESOURCE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kuberay"

# Fields of the ray.io/v1 RayCluster CRD (KubeRay API reference, RayClusterSpec,
# HeadGroupSpec, WorkerGroupSpec); required ones are checked separately.
SPEC_FIELDS = {"rayVersion", "enableInTreeAutoscaling", "autoscalerOptions",
               "headServiceAnnotations", "headGroupSpec", "workerGroupSpecs", "suspend",
               "managedBy", "gcsFaultToleranceOptions"}
HEAD_FIELDS = {"serviceType", "headService", "enableIngress", "rayStartParams", "template"}
WORKER_FIELDS = {"groupName", "replicas", "minReplicas", "maxReplicas", "idleTimeoutSeconds",
                 "rayStartParams", "template", "scaleStrategy", "suspend", "numOfHosts"}
CONTAINER_FIELDS = {"name", "image", "imagePullPolicy", "command", "args", "env", "ports",
                    "resources", "securityContext", "volumeMounts", "lifecycle"}


@pytest.fixture(scope="module")
def cluster() -> dict:
    return yaml.safe_load((EXAMPLE / "raycluster.yaml").read_text())


def _containers(group: dict) -> dict[str, dict]:
    return {c["name"]: c for c in group["template"]["spec"]["containers"]}


def _declared(group: dict) -> dict[str, float]:
    raw = group["rayStartParams"].get("resources")
    return json.loads(raw.strip("'\"").replace('\\"', '"')) if raw else {}


def test_manifest_uses_documented_raycluster_fields(cluster):
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["kind"] == "RayCluster"
    assert cluster["metadata"]["name"]
    spec = cluster["spec"]
    assert set(spec) <= SPEC_FIELDS, set(spec) - SPEC_FIELDS
    assert set(spec["headGroupSpec"]) <= HEAD_FIELDS
    assert "template" in spec["headGroupSpec"]
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for group in spec["workerGroupSpecs"]:
        assert set(group) <= WORKER_FIELDS, set(group) - WORKER_FIELDS
        assert {"groupName", "template"} <= set(group)
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    for group in groups:
        params = group.get("rayStartParams", {})
        assert all(isinstance(v, str) for v in params.values()), "rayStartParams: strings"
        pod = group["template"]["spec"]
        volumes = {v["name"] for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            assert set(container) <= CONTAINER_FIELDS, set(container) - CONTAINER_FIELDS
            assert container["name"] and container["image"]
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{mount['name']} is not a pod volume"


def test_sandbox_slots_only_on_pods_with_an_engine(cluster):
    spec = cluster["spec"]
    assert SANDBOX_RESOURCE not in _declared(spec["headGroupSpec"])
    for group in spec["workerGroupSpecs"]:
        slots = _declared(group).get(SANDBOX_RESOURCE, 0)
        assert slots >= 1, f"group {group['groupName']} declares no {SANDBOX_RESOURCE}"
        containers = _containers(group)
        env = {e["name"]: e["value"] for e in containers["ray-worker"]["env"]}
        port = re.fullmatch(r"tcp://127\.0\.0\.1:(\d+)", env["DOCKER_HOST"]).group(1)
        dind = containers["dind"]
        assert f"--host=tcp://127.0.0.1:{port}" in dind["args"]
        assert dind["securityContext"]["privileged"] is True
        hook = " ".join(containers["ray-worker"]["lifecycle"]["postStart"]["exec"]["command"])
        assert "sandgym image build" in hook


def test_ray_version_matches_the_installed_ray(cluster):
    assert cluster["spec"]["rayVersion"] == ray.__version__
    base = re.search(r"^FROM rayproject/ray:(\S+?)-", (EXAMPLE / "Dockerfile").read_text(),
                     re.MULTILINE)
    assert base and base.group(1) == ray.__version__

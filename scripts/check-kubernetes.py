"""Checks deploy/kubernetes beyond the schemas (which kubernetes-validate checks): what the
service needs from its manifests. Run with the .tools/venv Python (it has PyYAML)."""

import json
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parent.parent
docs = [d for f in sorted((root / "deploy/kubernetes").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
problems = []


def need(ok, what):
    if not ok:
        problems.append(what)


deployment = by_kind["Deployment"][0]
spec = deployment["spec"]
pod = spec["template"]["spec"]
container = pod["containers"][0]
env = {e["name"]: e for e in container["env"]}
need(spec["replicas"] == 3, "the Deployment runs 3 replicas")
need(container["readinessProbe"].get("grpc", {}).get("port") == 50051, "readiness is the gRPC health check")
need("grpc" in container["startupProbe"] or "httpGet" in container["startupProbe"], "a startup probe")
need("livenessProbe" in container, "a liveness probe")
need(container["resources"]["requests"].get("cpu") and container["resources"]["limits"].get("memory"), "resources")
pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
pre_stop_secs = int(pre_stop[-1]) if pre_stop[0] == "sleep" else 0
grace_ms = int(env["SUPPORT_SHUTDOWN_GRACE_MS"]["value"])
need(
    pod["terminationGracePeriodSeconds"] >= pre_stop_secs + grace_ms / 1000,
    f"terminationGracePeriodSeconds ({pod['terminationGracePeriodSeconds']}) covers the preStop ({pre_stop_secs} s) "
    f"and the shutdown grace ({grace_ms / 1000} s)",
)
need(pod["terminationGracePeriodSeconds"] <= pre_stop_secs + grace_ms / 1000 + 10, "and not much more")
need(env["SUPPORT_AUTH_SECRET"].get("valueFrom", {}).get("secretKeyRef"), "the auth secret comes from a Secret")
need(env["DATABASE_URL"].get("valueFrom", {}).get("secretKeyRef"), "the database URL comes from a Secret")
need(env["SUPPORT_ADMIN_LISTEN"]["value"].endswith(":9464"), "the admin port is 9464")
need(pod["securityContext"].get("runAsNonRoot"), "runs as non-root")
services = by_kind["Service"]
need(any(s["spec"].get("clusterIP") == "None" for s in services), "a headless Service")
need(any(s["spec"].get("type") == "ClusterIP" and s["spec"].get("clusterIP") != "None" for s in services), "a ClusterIP Service")
need(by_kind.get("PodDisruptionBudget"), "a PodDisruptionBudget")
need(by_kind.get("HorizontalPodAutoscaler"), "a HorizontalPodAutoscaler")
dashboard = json.loads((root / "deploy/grafana/support-service.json").read_text())
need(len(dashboard["panels"]) >= 8, "the Grafana dashboard has its panels")

if problems:
    print("Kubernetes manifests:\n- " + "\n- ".join(problems))
    sys.exit(1)
print(f"Kubernetes manifests: {len(docs)} resources, grace {pod['terminationGracePeriodSeconds']} s = preStop "
      f"{pre_stop_secs} s + shutdown grace {grace_ms / 1000:g} s + margin")

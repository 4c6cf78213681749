"""Every policy against real Pulumi programs run by the offline preview, and both stacks clean.

For each policy a small program (written to ``tmp_path``) goes through ``offline.preview.preview``, what
``python -m offline preview --stack dev --program prog.py`` runs, violates it, and a compliant twin
differs only in the offending part. Mandatory policies fail the preview (exit 1) with their
message; advisory ones are reported but leave the exit code alone.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from llm_policies import offline as policy_offline

from offline.plan import Plan
from offline.preview import preview
from tests.support import stack_plan

PREAMBLE = '''
import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

HEALTH = {"httpGet": {"path": "/health", "port": 8000}}
SIZED = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def container(name, image, **extra):
    return {"name": name, "image": image, "resources": SIZED, "readinessProbe": HEALTH, "livenessProbe": HEALTH,
            **extra}


def deployment(name, spec_container, namespace="apps"):
    labels = {"app": name}
    return k8s.apps.v1.Deployment(name, metadata={"name": name, "namespace": namespace}, spec={
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [spec_container]}},
    })

'''

STACK_FILE = """
config:
  llm-tracing-infra:grafanaAdminPassword:
    secure: AAABAKZ3b2Z0ZXN0
"""
"""The programs' stack file: one secret, set as `pulumi config set --secret` would store it."""

INJECTED_NS = '''
ns = k8s.core.v1.Namespace("monitoring", metadata={"name": "monitoring", "labels": {"istio-injection": "enabled"}})
'''

RESTRICTED_NS = '''
ns = k8s.core.v1.Namespace("apps", metadata={
    "name": "apps", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}})
'''


@dataclass(frozen=True)
class Case:
    policy: str
    violating: str
    compliant: str
    expect: str
    """A fragment of the violation message."""
    mandatory: bool = True


CASES = {
    "ingress": Case(
        "k8s-ingress-disallowed",
        '''k8s.networking.v1.Ingress("web", metadata={"name": "web", "namespace": "apps"}, spec={"rules": [
               {"host": "a.example", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                   "service": {"name": "web", "port": {"number": 80}}}}]}}]})''',
        '''k8s.core.v1.Service("web", metadata={"name": "web", "namespace": "apps"},
                               spec={"selector": {"app": "web"}, "ports": [{"port": 80}]})''',
        "Ingress 'web' (networking.k8s.io/v1) is forbidden",
    ),
    "ingress-values": Case(
        "k8s-ingress-disallowed",
        '''k8s.helm.v4.Chart("kps", chart="kube-prometheus-stack", version="88.5.3", namespace="monitoring",
                             values={"grafana": {"ingress": {"enabled": True}}})''',
        '''k8s.helm.v4.Chart("kps", chart="kube-prometheus-stack", version="88.5.3", namespace="monitoring",
                             values={"grafana": {"ingress": {"enabled": False}}})''',
        "switch an Ingress on at values.grafana.ingress.enabled",
    ),
    "istio-routing": Case(
        "istio-routing-resources-disallowed",
        '''k8s.apiextensions.CustomResource("vs", api_version="networking.istio.io/v1", kind="VirtualService",
               metadata={"name": "web", "namespace": "apps"},
               spec={"hosts": ["a.example"],
                     "http": [{"route": [{"destination": {"host": "web"}, "weight": 100}]}]})''',
        '''base = k8s.helm.v4.Chart("base", chart="base", version="1.30.3", namespace="istio-system")
k8s.apiextensions.CustomResource("telemetry", api_version="telemetry.istio.io/v1", kind="Telemetry",
               metadata={"name": "mesh-default", "namespace": "istio-system"}, spec={},
               opts=pulumi.ResourceOptions(depends_on=[base]))''',
        "hosts -> HTTPRoute.spec.hostnames",
    ),
    "istiod-order": Case(
        "istiod-requires-gateway-api-crds",
        '''crds = k8s.yaml.v2.ConfigFile("gateway-api-crds", file="gateway-api-v1.5.1-experimental-install.yaml")
base = k8s.helm.v4.Chart("base", chart="base", version="1.30.3", namespace="istio-system")
k8s.helm.v4.Chart("istiod", chart="istiod", version="1.30.3", namespace="istio-system",
                  opts=pulumi.ResourceOptions(depends_on=[base]))''',
        '''crds = k8s.yaml.v2.ConfigFile("gateway-api-crds", file="gateway-api-v1.5.1-experimental-install.yaml")
base = k8s.helm.v4.Chart("base", chart="base", version="1.30.3", namespace="istio-system",
                         opts=pulumi.ResourceOptions(depends_on=[crds]))
k8s.helm.v4.Chart("istiod", chart="istiod", version="1.30.3", namespace="istio-system",
                  opts=pulumi.ResourceOptions(depends_on=[base]))''',
        "istiod ('istiod') does not depend on the Gateway API CRD bundle",
    ),
    "node-exporter": Case(
        "node-exporter-sidecar-opt-out",
        INJECTED_NS + '''k8s.helm.v4.Chart("kps", chart="kube-prometheus-stack", version="88.5.3",
                  namespace=ns.metadata.name, values={"prometheus-node-exporter": {"podLabels": {}}})''',
        INJECTED_NS + '''k8s.helm.v4.Chart("kps", chart="kube-prometheus-stack", version="88.5.3",
                  namespace=ns.metadata.name,
                  values={"prometheus-node-exporter": {"podLabels": {"sidecar.istio.io/inject": "false"}}})''',
        "namespace 'monitoring' has istio-injection=enabled",
    ),
    "pod-security": Case(
        "pod-security-level",
        RESTRICTED_NS + '''deployment("web", container("web", "nginx:1.27.3", securityContext={"privileged": True}),
           namespace=ns.metadata.name)''',
        RESTRICTED_NS + '''deployment("web", container("web", "nginx:1.27.3", securityContext={
    "runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"}}), namespace=ns.metadata.name)''',
        "Deployment 'web' in namespace 'apps' (Pod Security 'restricted') would be refused",
    ),
    "vllm-gpu-memory": Case(
        "vllm-gpu-memory-utilization-range",
        '''deployment("vllm", container("vllm", "vllm/vllm-openai:v0.10.1",
                                         args=["--model", "m", "--gpu-memory-utilization", "1.0"]))''',
        '''deployment("vllm", container("vllm", "vllm/vllm-openai:v0.10.1",
                                         args=["--model", "m", "--gpu-memory-utilization", "0.9"]))''',
        "vLLM --gpu-memory-utilization 1 is outside (0, 1)",
    ),
    "secret-data": Case(
        "k8s-secret-no-literal-data",
        '''k8s.yaml.v2.ConfigGroup("creds", objs=[{"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "db", "namespace": "apps"}, "stringData": {"password": "hunter2"}}])''',
        '''password = random.RandomPassword("db", length=24)
k8s.core.v1.Secret("db", metadata={"name": "db", "namespace": "apps"}, string_data={"password": password.result})''',
        "holds literal values in stringData.password",
    ),
    "env-credentials": Case(
        "k8s-env-no-literal-credentials",
        '''deployment("app", container("app", "ghcr.io/example/app:1.0",
                                        env=[{"name": "HF_TOKEN", "value": "abc"}]))''',
        '''deployment("app", container("app", "ghcr.io/example/app:1.0", env=[{"name": "HF_TOKEN",
               "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}]))''',
        "sets HF_TOKEN as a literal value",
    ),
    "credential-literal": Case(
        "no-credential-literals",
        '''k8s.core.v1.ConfigMap("alerts", metadata={"name": "alerts", "namespace": "apps"},
               data={"webhook": "https://hooks.slack.com/services/" + "T0ABC1DEF/B0GHI2JKL/xYz3AbC4dEf5GhI6"})''',
        '''k8s.core.v1.ConfigMap("alerts", metadata={"name": "alerts", "namespace": "apps"},
               data={"webhookSecret": "alertmanager-slack"})''',
        "data.webhook holds what looks like a Slack webhook URL",
    ),
    "secret-in-values": Case(
        "no-credential-literals",
        '''password = pulumi.Config().require_secret("grafanaAdminPassword")
k8s.helm.v4.Chart("kps", chart="kube-prometheus-stack", version="88.5.3", namespace="monitoring",
                  values={"grafana": {"adminPassword": password}})''',
        '''k8s.helm.v4.Chart("kps", chart="kube-prometheus-stack", version="88.5.3", namespace="monitoring",
                  values={"grafana": {"admin": {"existingSecret": "grafana-admin"}}})''',
        "carry a Pulumi secret at values.grafana.adminPassword",
    ),
    "vllm-docker": Case(
        "vllm-kubernetes-only",
        '''pulumi.CustomResource("docker:index/container:Container", "vllm",
                       {"image": "vllm/vllm-openai:v0.10.1", "name": "vllm"})''',
        '''deployment("vllm", container("vllm", "vllm/vllm-openai:v0.10.1"))''',
        "vLLM must run as a Kubernetes workload, not a Docker provider container",
    ),
    "image-pinned": Case(
        "k8s-image-pinned",
        '''deployment("app", container("app", "ghcr.io/example/app:latest"))''',
        '''deployment("app", container("app", "ghcr.io/example/app:1.0"))''',
        "image 'ghcr.io/example/app:latest' uses :latest",
        mandatory=False,
    ),
    "resources": Case(
        "k8s-container-resources-set",
        '''deployment("app", {**container("app", "ghcr.io/example/app:1.0"), "resources": {}})''',
        '''deployment("app", container("app", "ghcr.io/example/app:1.0"))''',
        "has no resources.requests.cpu",
        mandatory=False,
    ),
    "probes": Case(
        "k8s-workload-probes-set",
        '''deployment("app", {**container("app", "ghcr.io/example/app:1.0"), "readinessProbe": None})''',
        '''deployment("app", container("app", "ghcr.io/example/app:1.0"))''',
        "has no readinessProbe",
        mandatory=False,
    ),
    "load-balancer": Case(
        "k8s-service-no-load-balancer",
        '''k8s.core.v1.Service("web", metadata={"name": "web", "namespace": "apps"},
               spec={"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]})''',
        '''k8s.core.v1.Service("web", metadata={"name": "web", "namespace": "apps"},
               spec={"type": "ClusterIP", "selector": {"app": "web"}, "ports": [{"port": 80}]})''',
        "Service 'web' is of type LoadBalancer but is not the gateway's",
        mandatory=False,
    ),
    "pvc-retained": Case(
        "k8s-pvc-retained-on-delete",
        '''k8s.core.v1.PersistentVolumeClaim("models", metadata={"name": "models", "namespace": "apps"},
               spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "40Gi"}}})''',
        '''k8s.core.v1.PersistentVolumeClaim("models", metadata={"name": "models", "namespace": "apps"},
               spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "40Gi"}}},
               opts=pulumi.ResourceOptions(retain_on_delete=True))''',
        "PersistentVolumeClaim 'models' is deleted with the stack",
        mandatory=False,
    ),
}


GATEWAY_CRDS = "".join(
    f"""---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.gateway.networking.k8s.io}}
spec:
  group: gateway.networking.k8s.io
  names: {{kind: {kind}, plural: {plural}}}
  scope: Namespaced
  versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object}}}}}}]
"""
    for kind, plural in (("Gateway", "gateways"), ("HTTPRoute", "httproutes"))
)
"""The local CRD file the istiod programs install (rendered into CRD children offline, as the provider does)."""


def offline_preview(tmp_path: Path, body: str) -> tuple[int, str]:
    """What ``python -m offline preview --stack dev --program <file>`` exits with and prints."""
    (tmp_path / "gateway-api-v1.5.1-experimental-install.yaml").write_text(GATEWAY_CRDS)
    program = tmp_path / "prog.py"
    program.write_text(PREAMBLE + textwrap.dedent(body) + "\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(STACK_FILE)
    report = io.StringIO()
    _, code = preview("dev", program=program, stream=report, root=tmp_path)
    return code, report.getvalue()


def test_every_policy_has_a_program_case() -> None:
    assert {case.policy for case in CASES.values()} == {p.name for p in policy_offline.POLICIES}


@pytest.mark.parametrize("case_id", list(CASES))
def test_violating_program_is_caught(case_id: str, tmp_path: Path) -> None:
    case = CASES[case_id]
    code, output = offline_preview(tmp_path, case.violating)
    level = "MANDATORY" if case.mandatory else "ADVISORY"
    lines = [line for line in output.splitlines() if line.startswith(f"{level}: policy:{case.policy}")]
    assert any(case.expect in line for line in lines), output
    assert code == (1 if case.mandatory else 0), output


@pytest.mark.parametrize("case_id", list(CASES))
def test_compliant_twin_passes(case_id: str, tmp_path: Path) -> None:
    case = CASES[case_id]
    code, output = offline_preview(tmp_path, case.compliant)
    assert f"policy:{case.policy}" not in output, output
    assert code == 0, output


def test_literal_in_a_typed_secret_is_caught(tmp_path: Path) -> None:
    body = 'k8s.core.v1.Secret("db", metadata={"name": "db"}, string_data={"password": "hunter2"})'
    code, output = offline_preview(tmp_path, body)
    assert code == 1 and "MANDATORY: policy:k8s-secret-no-literal-data" in output


# ---------------------------------------------------------------------------------------------
# The real stacks: no false positives
# ---------------------------------------------------------------------------------------------


def plan_resources(plan: Plan) -> list[dict]:
    return [{**r.to_json(), "custom": r.custom} for r in plan.resources]


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_real_stacks_pass_every_mandatory_policy(stack: str) -> None:
    violations = policy_offline.evaluate(plan_resources(stack_plan(stack)))
    mandatory = [f"{v['policy']}: {v['message']}" for v in violations if v["level"] == "mandatory"]
    assert mandatory == []


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_real_stacks_really_are_judged(stack: str) -> None:
    """Guard against a vacuous pass: the stack has what the policies look at, and a mutation is caught."""
    resources = plan_resources(stack_plan(stack))
    types = {r["type"] for r in resources}
    assert "kubernetes:helm.sh/v4:Chart" in types and "kubernetes:core/v1:Namespace" in types
    assert any(r["type"].startswith("kubernetes:helm.sh") and "istiod" in r["name"] for r in resources)
    cut = [{**r, "dependencies": []} if r["type"].startswith("kubernetes:helm.sh") else r for r in resources]
    found = {v["policy"] for v in policy_offline.evaluate(cut)}
    assert "istiod-requires-gateway-api-crds" in found


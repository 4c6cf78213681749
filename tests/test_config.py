"""Stack configuration: bad input fails before any resource exists, with a message naming the key."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from offline.checks.gateway import chart_name
from offline.preview import EXIT_CONFIG, preview
from offline.runner import FAKE_SECRET, run_program, stack_config
from tests.support import stack_plan

ROOT = Path(__file__).resolve().parent.parent

# (stack, overrides, expected fragments of the one message about it)
BAD_INPUTS: list[tuple[str, dict[str, str], list[str]]] = [
    (
        "gpu",
        {"vllm.gpuMemoryUtilization": "1.0"},
        ["llm-tracing-infra:vllm.gpuMemoryUtilization", "less than 1", '"1.0"'],
    ),
    ("gpu", {"vllm.gpuMemoryUtilization": "0"}, ["vllm.gpuMemoryUtilization", "greater than 0"]),
    ("gpu", {"vllm.gpuMemoryUtilization": "ninety"}, ["vllm.gpuMemoryUtilization", "valid number"]),
    ("gpu", {"vllm.cacheSize": "50Gb"}, ["vllm.cacheSize", "50Gi", "not Gb", '"50Gb"']),
    ("dev", {"tracing.tempo.storageSize": "ten"}, ["tracing.tempo.storageSize", "Kubernetes quantity"]),
    ("dev", {"tracing.tempo.retention": "2 days"}, ["tracing.tempo.retention", "duration such as"]),
    ("dev", {"monitoring.prometheusRetention": "7days"}, ["monitoring.prometheusRetention", "duration"]),
    ("dev", {"namespaces.llm": "LLM"}, ["namespaces.llm", "DNS label", '"LLM"']),
    ("dev", {"namespaces.tracing": "trac_ing"}, ["namespaces.tracing", "DNS label"]),
    ("dev", {"gateway.baseDomain": "-bad-.local"}, ["gateway.baseDomain", "DNS name"]),
    ("dev", {"gateway.baseDomain": "Example.COM"}, ["gateway.baseDomain", "lower-case"]),
    ("dev", {"engine": "tgi"}, ["llm-tracing-infra:engine", "'vllm', 'mock' or 'sglang'", '"tgi"']),
    ("dev", {"vllmm.model": "x"}, ["llm-tracing-infra:vllmm", "unknown key"]),
    ("dev", {"vllm.gpuMemUtil": "0.5"}, ["vllm.gpuMemUtil", "unknown key"]),
    ("gpu", {"vllm.tensorParallelSize": "0"}, ["vllm.tensorParallelSize", "greater than or equal to 1"]),
    ("gpu", {"vllm.maxModelLen": "long"}, ["vllm.maxModelLen", "valid integer"]),
    ("dev", {"istio.tracingSamplingPercent": "150"}, ["istio.tracingSamplingPercent", "less than or equal to 100"]),
    ("dev", {"versions.istio": "latest"}, ["versions.istio", "exact version"]),
    (
        "dev",
        {"versions.istio": "1.25.5"},
        ["versions.istio=1.25.5", "versions.gatewayApi=v1.5.1", "1.30.x with v1.5.1"],
    ),
    ("dev", {"versions.images": '{"vllm": "vllm/vllm-openai:latest"}'}, ["versions.images.vllm", "never :latest"]),
    ("dev", {"versions.charts": '{"tempo": "^2.0"}'}, ["versions.charts.tempo", "exact version"]),
    ("dev", {"versions.charts": '{"tempox": "2.0.0"}'}, ["versions.charts", "unknown chart", "tempox"]),
    ("dev", {"gateway.retry": '{"codes": [200]}'}, ["gateway.retry", "400-599"]),
    ("gpu", {"vllm.gatedModel": "true"}, ["hfToken", "vllm.gatedModel=true", "pulumi config set --secret hfToken"]),
    ("dev", {"engine": "vllm"}, ["llm-tracing-infra:engine", "needs a GPU", "gpu.enabled=true"]),
    ("dev", {"tracing.collector.exportToLangfuse": "true"}, ["exportToLangfuse=true", "langfuse.enabled=true"]),
    ("dev", {"gateway.adminAllowedCidrs": '["10.0.0.1/8"]'}, ["gateway.adminAllowedCidrs.0", "CIDR"]),
    ("dev", {"gateway.directEngineRoute.enabled": "true"}, ["gateway.directEngineRoute", "allowedCidrs", "no key"]),
    (
        "dev",
        {"gateway.canary": '{"primary": "mock", "canary": "mock", "percent": 10}'},
        ["gateway.canary", "different"],
    ),
    (
        "gpu",
        {"gateway.canary": '{"primary": "vllm", "canary": "sglang", "percent": 150}'},
        ["gateway.canary.percent", "less than or equal to 100"],
    ),
    ("dev", {"charts.source": "mirror"}, ["llm-tracing-infra:charts", "charts.mirror"]),
    ("dev", {"hfToken": "hf_abcdefghijklmnopqrstuvwxyz"}, ["llm-tracing-infra:hfToken", "plain text", "--secret"]),
    (
        "gpu",
        {"vllm.extraArgs": '["--gpu-memory-utilization=0.99"]'},
        ["vllm.extraArgs", "dedicated keys", "--gpu-memory-utilization=0.99"],
    ),
    ("dev", {"gateway.https.acmeEmail": "ops@example.com"}, ["acmeEmail", "https.enabled=false"]),
    (
        "dev",
        {"tracing.collector.memoryLimitMib": "900"},
        ["tracing.collector", "memoryLimitMib 900", "resources.limits.memory"],
    ),
    ("dev", {"namespaces.istio": "tracing"}, ["llm-tracing-infra:namespaces:", "istio and tracing are both"]),
    ("gpu", {"monitoring.alerts.gpuMemoryRatio": "0.85"}, ["gpuMemoryRatio=0.85", "vllm.gpuMemoryUtilization=0.9"]),
    ("dev", {"litellm.replicas": "-1"}, ["litellm.replicas", "greater than or equal to 1"]),
]


# The catalogue of issue 18 (stack, overrides, fragments): each must exit 2, one message holding every fragment.
P = config.PROJECT


def res(cpu: str = "100m", memory: str = "128Mi", limit_cpu: str = "1", limit_memory: str = "1Gi") -> str:
    """A whole resources object (setting one nested key replaces the default object)."""
    limits = {"cpu": limit_cpu, "memory": limit_memory}
    return json.dumps({"requests": {"cpu": cpu, "memory": memory}, "limits": limits})

CATALOGUE: list[tuple[str, dict[str, str], list[str]]] = [
    # quantities: positive, well-formed, decimal exponents only without a suffix
    ("dev", {"tracing.tempo.storageSize": "0Gi"}, ["tracing.tempo.storageSize", "positive"]),
    ("gpu", {"vllm.cacheSize": "0"}, ["vllm.cacheSize", "positive"]),
    ("dev", {"monitoring.prometheusStorageSize": "-5Gi"}, ["monitoring.prometheusStorageSize", "quantity"]),
    ("dev", {"logging.storageSize": "10GB"}, ["logging.storageSize", "quantity"]),
    ("dev", {"tracing.collector.queueStorageSize": "1.5.2Gi"}, ["tracing.collector.queueStorageSize", "quantity"]),
    ("dev", {"langfuse.postgresStorageSize": "0"}, ["langfuse.postgresStorageSize", "positive"]),
    ("dev", {"langfuse.redisStorageSize": "1 Gi"}, ["langfuse.redisStorageSize", "quantity"]),
    ("gpu", {"vllm.shmSize": "2gi"}, ["vllm.shmSize", "quantity"]),
    ("dev", {"sglang.cacheSize": "abc"}, ["sglang.cacheSize", "quantity"]),
    ("dev", {"monitoring.prometheusResources.requests.memory": "0Mi"},
     ["monitoring.prometheusResources.requests.memory", "positive"]),
    ("dev", {"litellm.resources.limits.cpu": "0"}, ["litellm.resources.limits.cpu", "positive"]),
    ("dev", {"mockEngine.resources.requests.cpu": "100x"}, ["mockEngine.resources.requests.cpu", "quantity"]),
    ("gpu", {"vllm.cacheSize": "5e9Gi"}, ["vllm.cacheSize", "quantity"]),
    ("dev", {"tracing.tempo.storageSize": "0e5"}, ["tracing.tempo.storageSize", "positive"]),
    ("dev", {"langfuse.s3StorageSize": "0Ki"}, ["langfuse.s3StorageSize", "positive"]),
    ("dev", {"langfuse.keeperStorageSize": "-1Gi"}, ["langfuse.keeperStorageSize", "quantity"]),
    # requests above limits
    ("dev", {"litellm.resources": res(memory="2Gi")},
     ["litellm.resources", "requests.memory 2Gi is above limits.memory 1Gi"]),
    ("gpu", {"vllm.resources": res(cpu="8")}, ["vllm.resources", "requests.cpu 8 is above limits.cpu 1"]),
    ("dev", {"tracing.tempo.resources": res(memory="4Gi")}, ["tracing.tempo.resources", "above limits.memory"]),
    ("dev", {"monitoring.grafanaResources": res(cpu="2")}, ["monitoring.grafanaResources", "above limits.cpu"]),
    ("dev", {"istio.resources": res(memory="2Gi")}, ["istio.resources", "above limits.memory"]),
    ("dev", {"istio.proxyResources": res(cpu="2")}, ["istio.proxyResources", "above limits.cpu"]),
    ("dev", {"gateway.proxyResources": res(memory="2Gi")}, ["gateway.proxyResources", "above limits.memory"]),
    ("dev", {"logging.lokiResources": res(cpu="2")}, ["logging.lokiResources", "above limits.cpu"]),
    ("dev", {"langfuse.webResources": res(memory="3Gi")}, ["langfuse.webResources", "above limits.memory"]),
    ("dev", {"gpu.exporterResources": res(cpu="2")}, ["gpu.exporterResources", "above limits.cpu"]),
    ("dev", {"certManager.resources": res(memory="2Gi")}, ["certManager.resources", "above limits.memory"]),
    ("dev", {"mockEngine.resources": res(memory="2Gi")}, ["mockEngine.resources", "above limits.memory"]),
    ("dev", {"monitoring.alertmanager.resources": res(cpu="2")}, ["monitoring.alertmanager.resources", "above"]),
    ("dev", {"langfuse.clickhouseResources": res(memory="4Gi")}, ["langfuse.clickhouseResources", "above"]),
    ("dev", {"monitoring.nodeExporterResources": res(memory="2Gi")}, ["monitoring.nodeExporterResources", "above"]),
    ("dev", {"monitoring.kubeStateMetricsResources": res(cpu="2")}, ["monitoring.kubeStateMetricsResources", "above"]),
    ("dev", {"gpu.devicePluginResources": res(cpu="2")}, ["gpu.devicePluginResources", "above limits.cpu"]),
    ("dev", {"tracing.collector.resources": res(memory="2Gi")}, ["tracing.collector.resources", "above"]),
    ("dev", {"logging.alloyResources": res(memory="2Gi")}, ["logging.alloyResources", "above limits.memory"]),
    # model ids
    ("gpu", {"vllm.model": ""}, ["vllm.model", "org/name"]),
    ("gpu", {"vllm.model": "Qwen Qwen"}, ["vllm.model", "no spaces"]),
    ("gpu", {"vllm.model": "qwen2.5"}, ["vllm.model", "org/name"]),
    ("gpu", {"vllm.model": "/models/qwen"}, ["vllm.model", "org/name"]),
    ("dev", {"sglang.model": "a/b/c"}, ["sglang.model", "org/name"]),
    ("gpu", {"vllm.model": "org/ name"}, ["vllm.model", "org/name"]),
    ("dev", {"sglang.model": ""}, ["sglang.model", "org/name"]),
    # maxModelLen: the pinned model's window, a bound for the others
    ("gpu", {"vllm.maxModelLen": "65536"}, [f"{P}:vllm:", "maxModelLen 65536", "32768"]),
    ("gpu", {"vllm.maxModelLen": "2000000", "vllm.model": "org/other"}, ["vllm.maxModelLen", "1048576"]),
    ("gpu", {"vllm.maxModelLen": "100"}, ["vllm.maxModelLen", "greater than or equal to 256"]),
    ("gpu", {"vllm.maxModelLen": "8192.5"}, ["vllm.maxModelLen", "integer"]),
    # finite numbers
    ("dev", {"monitoring.alerts.latencyP95Seconds": "inf"}, ["monitoring.alerts.latencyP95Seconds", "finite"]),
    ("dev", {"monitoring.alerts.queueTimeP95Seconds": "nan"}, ["monitoring.alerts.queueTimeP95Seconds", "finite"]),
    ("dev", {"monitoring.alerts.minRequestRate": "nan"}, ["monitoring.alerts.minRequestRate", "finite"]),
    ("dev", {"monitoring.alerts.memoryLimitRatio": "nan"}, ["monitoring.alerts.memoryLimitRatio", "finite"]),
    ("dev", {"monitoring.alerts.errorRatio": "inf"}, ["monitoring.alerts.errorRatio", "finite"]),
    ("dev", {"mockEngine.tokensPerSecond": "inf"}, ["mockEngine.tokensPerSecond", "finite"]),
    ("dev", {"istio.tracingSamplingPercent": "nan"}, ["istio.tracingSamplingPercent", "finite"]),
    ("gpu", {"vllm.gpuMemoryUtilization": "nan"}, ["vllm.gpuMemoryUtilization", "finite"]),
    ("dev", {"monitoring.alerts.kvCacheUsageRatio": "-inf"}, ["monitoring.alerts.kvCacheUsageRatio", "finite"]),
    # CIDR lists
    ("dev", {"gateway.adminAllowedCidrs": "[]"}, [f"{P}:gateway:", "adminAllowedCidrs is empty"]),
    ("dev", {"gateway.adminAllowedCidrs": '["10.0.0.0/33"]'}, ["gateway.adminAllowedCidrs.0", "CIDR"]),
    ("dev", {"gateway.adminAllowedCidrs": '["not-a-cidr"]'}, ["gateway.adminAllowedCidrs.0", "CIDR"]),
    ("dev", {"gateway.adminAllowedCidrs[0]": "300.0.0.0/8"}, ["gateway.adminAllowedCidrs.0", "CIDR"]),
    ("dev", {"gateway.adminAllowedCidrs[1]": "10.0.0.0/8"}, ["gateway.adminAllowedCidrs[1]", "past the end"]),
    ("dev", {"gateway.adminAllowedCidrs[x]": "10.0.0.0/8"}, ["gateway.adminAllowedCidrs[x]", "key[index]"]),
    # distinct namespaces
    ("dev", {"namespaces.llm": "tracing"}, [f"{P}:namespaces:", "are both 'tracing'"]),
    ("dev", {"namespaces.litellm": "llm"}, [f"{P}:namespaces:", "are both 'llm'"]),
    ("dev", {"namespaces.gpu": "monitoring"}, [f"{P}:namespaces:", "are both 'monitoring'"]),
    ("dev", {"namespaces.logging": "langfuse"}, [f"{P}:namespaces:", "are both 'langfuse'"]),
    # URLs, hosts, users
    ("dev", {"gateway.https.acmeEnvironment": "prod"},
     ["gateway.https.acmeEnvironment", "'staging' or 'production'", '"prod"']),
    ("dev", {"charts.source": "mirror", "charts.mirror": "http://"}, [f"{P}:charts:", "not a chart repository URL"]),
    ("dev", {"charts.mirror": "ftp://mirror.example/charts"}, [f"{P}:charts:", "not a chart repository URL"]),
    ("dev", {"k3s.host": "bad host"}, ["k3s.host", "host name"]),
    ("dev", {"k3s.host": "-x-"}, ["k3s.host", "host name"]),
    ("dev", {"k3s.host": "host_name"}, ["k3s.host", "IP address"]),
    ("dev", {"k3s.user": "Root User"}, ["k3s.user", "user name"]),
    ("dev", {"k3s.user": ""}, ["k3s.user", "user name"]),
    ("dev", {"k3s.user": "1abc"}, ["k3s.user", "user name"]),
    ("dev", {"k3s.port": "0"}, ["k3s.port", "greater than or equal to 1"]),
    ("dev", {"k3s.port": "70000"}, ["k3s.port", "less than or equal to 65535"]),
    ("dev", {"k3s.version": "latest"}, ["k3s.version", "k3s release tag"]),
    ("dev", {"langfuse.adminEmail": "admin"}, [f"{P}:langfuse:", "adminEmail", "e-mail"]),
    ("dev", {"gateway.https.acmeEmail": "ops"}, ["gateway.https", "acmeEmail", "e-mail"]),
    # integer bounds
    ("dev", {"tracing.collector.queueSize": "10000000"}, ["tracing.collector.queueSize", "less than or equal"]),
    ("dev", {"tracing.collector.memoryLimitMib": "99999999"}, ["tracing.collector.memoryLimitMib", "less than"]),
    ("dev", {"monitoring.alerts.restartsIn15M": "100000"}, ["monitoring.alerts.restartsIn15M", "less than"]),
    ("dev", {"monitoring.alerts.requestsWaiting": "0"}, ["monitoring.alerts.requestsWaiting", "greater than"]),
    ("gpu", {"vllm.startupTimeoutSeconds": "999999"}, ["vllm.startupTimeoutSeconds", "less than or equal to 86400"]),
    ("dev", {"k3s.readyTimeoutSeconds": "10"}, ["k3s.readyTimeoutSeconds", "greater than or equal to 30"]),
    ("dev", {"k3s.gpuTimeoutSeconds": "100000"}, ["k3s.gpuTimeoutSeconds", "less than or equal to 86400"]),
    ("dev", {"verification.timeoutSeconds": "100000"}, ["verification.timeoutSeconds", "less than or equal"]),
    ("dev", {"verification.timeoutSeconds": "5"}, ["verification.timeoutSeconds", "greater than or equal to 10"]),
    ("dev", {"mockEngine.maxTokens": "0"}, ["mockEngine.maxTokens", "greater than or equal to 1"]),
    ("dev", {"mockEngine.maxTokens": "1e30"}, ["mockEngine.maxTokens", "integer"]),
    ("dev", {"mockEngine.replicas": "11"}, ["mockEngine.replicas", "less than or equal to 10"]),
    ("dev", {"tracing.collector.replicas": "0"}, ["tracing.collector.replicas", "greater than or equal to 1"]),
    ("dev", {"langfuse.keeperReplicas": "2"}, [f"{P}:langfuse:", "keeperReplicas must be odd"]),
    ("dev", {"langfuse.keeperReplicas": "7"}, ["langfuse.keeperReplicas", "less than or equal to 5"]),
    ("dev", {"litellm.replicas": "1.5"}, ["litellm.replicas", "integer"]),
    ("gpu", {"vllm.tensorParallelSize": "9"}, ["vllm.tensorParallelSize", "less than or equal to 8"]),
    ("dev", {"monitoring.alerts.gpuTemperatureCelsius": "200"}, ["monitoring.alerts.gpuTemperatureCelsius", "110"]),
    ("dev", {"monitoring.alerts.kvCacheUsageRatio": "1.5"}, ["monitoring.alerts.kvCacheUsageRatio", "less than"]),
    ("dev", {"monitoring.alerts.collectorQueueRatio": "0"}, ["monitoring.alerts.collectorQueueRatio", "greater than"]),
    ("gpu", {"sglang.memFractionStatic": "1"}, ["sglang.memFractionStatic", "less than 1"]),
    ("dev", {"istio.tracingSamplingPercent": "-1"}, ["istio.tracingSamplingPercent", "greater than or equal to 0"]),
    # Langfuse names
    ("dev", {"langfuse.organization": ""}, ["langfuse.organization", "non-empty"]),
    ("dev", {"langfuse.project": "  "}, ["langfuse.project", "non-empty"]),
    ("dev", {"langfuse.organization": " lead"}, ["langfuse.organization", "leading or trailing"]),
    # durations
    ("dev", {"logging.retention": "1 week"}, ["logging.retention", "duration"]),
    ("dev", {"monitoring.alertmanager.groupWait": "30"}, ["monitoring.alertmanager.groupWait", "duration"]),
    ("dev", {"monitoring.alertmanager.repeatInterval": "4hours"},
     ["monitoring.alertmanager.repeatInterval", "duration"]),
    ("dev", {"gateway.llmRequestTimeout": "1d"}, [f"{P}:gateway:", "llmRequestTimeout", "Gateway API duration"]),
    ("dev", {"gateway.llmRequestTimeout": "abc"}, ["gateway.llmRequestTimeout", "duration"]),
    # DNS names and labels
    ("dev", {"namespaces.monitoring": ""}, ["namespaces.monitoring", "DNS label"]),
    ("dev", {"namespaces.langfuse": "x" * 64}, ["namespaces.langfuse", "at most 63"]),
    ("dev", {"gpu.runtimeClassName": "NVIDIA"}, ["gpu.runtimeClassName", "DNS label"]),
    ("gpu", {"vllm.servedModelName": "Qwen 2.5"}, ["vllm.servedModelName", "DNS name"]),
    ("dev", {"mockEngine.servedModelName": ""}, ["mockEngine.servedModelName", "DNS name"]),
    ("dev", {"gateway.baseDomain": "local..x"}, ["gateway.baseDomain", "DNS name"]),
    ("dev", {"certManager.namespace": "Cert_Manager"}, ["certManager.namespace", "DNS label"]),
    ("dev", {"langfuse.clickhouseOperatorNamespace": "-x"}, ["langfuse.clickhouseOperatorNamespace", "DNS label"]),
    # versions and images
    ("dev", {"versions.gatewayApi": "1.5"}, ["versions.gatewayApi", "exact version"]),
    ("dev", {"versions.images": '{"litellm": "ghcr.io/berriai/litellm"}'}, ["versions.images.litellm", "pinned"]),
    ("dev", {"versions.images": '{"unknown": "a:1"}'}, ["versions.images", "unknown image key"]),
    ("dev", {"versions.charts": '{"tempo": "latest"}'}, ["versions.charts.tempo", "exact version"]),
    ("dev", {"versions.istio": "1.24.0"}, ["versions.istio=1.24.0", "not a supported pair"]),
    # enumerations
    ("dev", {"istio.injectNamespaces": '["tracing", "gpu"]'}, ["istio.injectNamespaces.1", "tracing"]),
    ("dev", {"istio.mtls": '{"tracing": "strict"}'}, ["istio.mtls.tracing", "STRICT"]),
    ("gpu", {"vllm.dtype": "fp8"}, ["vllm.dtype", "bfloat16"]),
    ("dev", {"monitoring.alertmanager.receiver": "email"}, ["monitoring.alertmanager.receiver", "slack"]),
    ("dev", {"charts.source": "local"}, ["charts.source", "upstream"]),
    ("dev", {"generatedSecrets.provider": "vault"}, ["generatedSecrets.provider", "random"]),
    ("dev", {"gpu.tolerations": '[{"key": "x", "operator": "Maybe"}]'}, ["gpu.tolerations.0.operator", "Exists"]),
    ("dev", {"gpu.tolerations": '[{"key": "x", "effect": "Never"}]'}, ["gpu.tolerations.0.effect", "NoSchedule"]),
    ("gpu", {"vllm.tolerations": '[{"operator": "Exists"}]'}, ["vllm.tolerations.0.key", "required"]),
    # types and shapes
    ("dev", {"gateway.restrictAdminUis": "maybe"}, ["gateway.restrictAdminUis", "boolean"]),
    ("dev", {"logging.enabled": "yes-please"}, ["logging.enabled", "boolean"]),
    ("dev", {"gpu.nodeSelector": '["a"]'}, ["gpu.nodeSelector", "dictionary"]),
    ("gpu", {"vllm.extraArgs": "--enforce-eager"}, ["vllm.extraArgs", "list"]),
    ("dev", {"istio": "5"}, [f"{P}:istio", "Istio"]),
    ("dev", {"tracing.collector": "[]"}, ["tracing.collector", "Collector"]),
    ("gpu", {"gateway.canary": '{"primary": "vllm", "canary": "sglang"}'}, ["gateway.canary.percent", "required"]),
    # unknown and moved keys
    ("dev", {"monitoring.alerts.cpuRatio": "0.5"}, ["monitoring.alerts.cpuRatio", "unknown key"]),
    ("dev", {"gateway.https.acmeEmail2": "x"}, ["gateway.https.acmeEmail2", "unknown key"]),
    ("dev", {"k3s.hostname": "x"}, ["k3s.hostname", "unknown key"]),
    ("dev", {"langfuse.installCertManager": "false"},
     ["langfuse.installCertManager", "moved to", "certManager.install"]),
    ("dev", {"langfuse.certManagerNamespace": "cm"}, ["langfuse.certManagerNamespace", "certManager.namespace"]),
    ("dev", {"gateway.https.acmeServer": "https://acme-v02.api.letsencrypt.org/directory"},
     ["gateway.https.acmeServer", "moved to", "gateway.https.acmeEnvironment", "staging or production"]),
    # keys of an unknown config namespace
    ("dev", {"llm-tracing-infr:engine": "mock"}, ["llm-tracing-infr:engine", "did you mean 'llm-tracing-infra'"]),
    ("dev", {"kubernetess:context": "x"}, ["kubernetess:context", "did you mean 'kubernetes'"]),
    ("dev", {"aws:region": "x"}, ["aws:region", "unknown config namespace", "known:"]),
    # flags the engines own
    ("gpu", {"vllm.extraArgs": '["--model=x"]'}, ["vllm.extraArgs", "dedicated keys", "--model=x"]),
    ("gpu", {"vllm.extraArgs": '["--port", "9"]'}, ["vllm.extraArgs", "--port"]),
    ("gpu", {"sglang.extraArgs": '["--model-path=x"]'}, ["sglang.extraArgs", "dedicated keys"]),
    ("gpu", {"vllm.extraArgs": '["--served-model-name=x"]'}, ["vllm.extraArgs", "--served-model-name=x"]),
    # rules across sections
    ("dev", {"engine": "sglang"}, [f"{P}:engine", "needs a GPU"]),
    ("dev", {"gateway.canary": '{"primary": "mock", "canary": "vllm", "percent": 5}'}, ["gateway.canary", "GPU"]),
    ("gpu", {"gateway.canary": '{"primary": "vllm", "canary": "sglang", "percent": 10}'}, ["sglang.enabled=false"]),
    ("dev", {"gateway.https.enabled": "true", "gateway.https.acmeEmail": "ops@example.com"},
     ["gateway.https.acmeEmail", "public", "gateway.baseDomain"]),
    ("dev", {"monitoring.alertmanager.receiver": "webhook"}, ["alertmanagerWebhookUrl", "receiver=webhook"]),
    ("dev", {"grafanaAdminPassword": "xyz"}, [f"{P}:grafanaAdminPassword", "plain text"]),
    ("dev", {"litellmMasterKey": "sk-1"}, [f"{P}:litellmMasterKey", "plain text"]),
    ("gpu", {"langfuse.credentialDerivation": "v3"}, [f"{P}:langfuse.credentialDerivation", "v3"]),
    ("dev", {"k3s.host": "local", "kubernetes.context": "x"}, ["k3s.host=local", "kubernetes.kubeconfig/context"]),
    ("dev", {"charts.source": "mirror", "charts.mirror": "/nonexistent/charts"}, ["charts.mirror", "not a directory"]),
]

ALL_BAD = BAD_INPUTS + CATALOGUE


@pytest.mark.parametrize(("stack", "overrides", "expected"), ALL_BAD, ids=[str(o) for _, o, _ in ALL_BAD])
def test_bad_input_fails_before_any_resource(stack: str, overrides: dict[str, str], expected: list[str]) -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program(stack, overrides)
    problems = caught.value.problems
    matching = [p for p in problems if all(fragment in p for fragment in expected)]
    assert matching, f"no single message has all of {expected}: {problems}"
    # Errors of the stack file or --set come before the program runs: then there is no plan at all.
    registered = getattr(caught.value, "plan", None)
    assert registered is None or registered.resources == [], "a resource was registered before validation"


@pytest.mark.parametrize(("stack", "overrides", "expected"), ALL_BAD, ids=[str(o) for _, o, _ in ALL_BAD])
def test_bad_input_exits_2_naming_the_key(stack: str, overrides: dict[str, str], expected: list[str]) -> None:
    out = io.StringIO()
    plan, code = preview(stack, overrides, stream=out)
    text = out.getvalue()
    assert (plan, code) == (None, EXIT_CONFIG), text
    assert any(all(fragment in line for fragment in expected) for line in text.splitlines()), text
    assert "Traceback" not in text


SEED_KEY = "langfuseCredentialSeed"
WEAK_SEEDS = {
    "a password": "correct horse battery staple",
    "31 bytes of hex": "ab12cd34" * 7 + "ef1234",
    "short base64": base64.b64encode(bytes(range(31))).decode(),
    "no randomness": "00" * 32,
    "empty": "",
    "hex with a newline": "0123456789abcdef" * 4 + "\n",
}


@pytest.mark.parametrize("value", WEAK_SEEDS.values(), ids=WEAK_SEEDS.keys())
def test_weak_seed_fails_before_any_resource(value: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program("gpu", secrets={SEED_KEY: value})
    (problem,) = caught.value.problems
    assert f"{P}:{SEED_KEY}" in problem and "openssl rand -hex 32" in problem
    assert value.strip() == "" or value.strip() not in problem, "a secret's value must never be printed"
    registered = getattr(caught.value, "plan", None)
    assert registered is None or registered.resources == [], "a resource was registered before validation"


def test_weak_seed_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.__main__ import main

    code = main(["preview", "--stack", "gpu", "--secret", f"{SEED_KEY}=hunter2"])
    output = capsys.readouterr()
    assert code == EXIT_CONFIG and f"{P}:{SEED_KEY}" in output.out and "hunter2" not in output.out + output.err


STRONG_SEEDS = {
    "openssl rand -hex 32": bytes(range(100, 132)).hex(),
    "openssl rand -base64 32": base64.b64encode(bytes(range(32))).decode(),
    "URL-safe base64 of 48 bytes": base64.urlsafe_b64encode(bytes(range(200, 248))).decode(),
    "128 hex characters": bytes(range(64)).hex().upper(),
}


@pytest.mark.parametrize("value", STRONG_SEEDS.values(), ids=STRONG_SEEDS.keys())
def test_strong_seed_is_accepted(value: str) -> None:
    config.validate({SEED_KEY: value}, {SEED_KEY})
    assert config.loading.seed_problem(SEED_KEY, value) is None


def test_secure_seed_of_the_stack_file_passes_the_seed_check(tmp_path: Path) -> None:
    """The offline preview's placeholder for a ``secure:`` seed is itself a valid seed."""
    stack_file = (ROOT / "Pulumi.gpu.yaml").read_text()
    (tmp_path / "Pulumi.gpu.yaml").write_text(stack_file + f"  {P}:{SEED_KEY}:\n    secure: v1:x\n")
    values, secret_keys = stack_config("gpu", root=tmp_path)
    assert f"{P}:{SEED_KEY}" in secret_keys
    assert config.loading.seed_problem(SEED_KEY, values[f"{P}:{SEED_KEY}"]) is None


def test_the_catalogue_is_large() -> None:
    assert len(ALL_BAD) >= 150 and len({str(o) for _, o, _ in ALL_BAD}) == len(ALL_BAD)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program("gpu", {"vllm.gpuMemoryUtilization": "1", "vllm.cacheSize": "1Tb", "tempo": "x"})
    assert len(caught.value.problems) == 3
    assert "Traceback" not in str(caught.value)


def test_preview_prints_config_errors_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.__main__ import main

    code = main(["preview", "--stack", "gpu", "--set", "vllm.gpuMemoryUtilization=1.0"])
    output = capsys.readouterr()
    assert code == 2
    assert "llm-tracing-infra:vllm.gpuMemoryUtilization" in output.out
    assert "Traceback" not in output.out + output.err


def test_defaults_serve_the_dev_stack() -> None:
    stack = config.validate({}, set())
    assert stack.engine == "mock"
    assert not stack.gpu.enabled
    assert stack.vllm.gpu_memory_utilization == 0.9
    assert stack.vllm.model == "Qwen/Qwen2.5-3B-Instruct"


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: tree}


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_stack_files_hold_only_what_differs(stack: str) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    defaults = config.StackConfig().model_dump(by_alias=True)
    for key, value in _leaves({k.split(":", 1)[1]: v for k, v in document.items()}).items():
        node: Any = defaults
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        assert node != value, f"Pulumi.{stack}.yaml sets {key}={value!r}, which is already the default"


def test_secure_values_become_fake_placeholders(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  llm-tracing-infra:hfToken:\n    secure: v1:abc\n  llm-tracing-infra:engine: mock\n"
    )
    values, secret_keys = stack_config("x", root=tmp_path)
    assert values["llm-tracing-infra:hfToken"] == FAKE_SECRET
    assert secret_keys == ["llm-tracing-infra:hfToken"]


def test_set_behaves_like_config_set_path(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  llm-tracing-infra:vllm:\n    model: a/b\n")
    values, _ = stack_config(
        "x", {"vllm.dtype": "half", "engine": "vllm", "gateway.canary": '{"percent": 5}'}, root=tmp_path
    )
    assert yaml.safe_load(values["llm-tracing-infra:vllm"]) == {"model": "a/b", "dtype": "half"}
    assert values["llm-tracing-infra:engine"] == "vllm"
    assert yaml.safe_load(values["llm-tracing-infra:gateway"]) == {"canary": {"percent": 5}}


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_charts_in_use_are_the_charts_of_the_plan(stack: str) -> None:
    plan = stack_plan(stack)
    in_plan = sorted((chart_name(c), str(c.inputs.get("version"))) for c in plan.charts())
    in_use = sorted(
        (pin.name, pin.version)
        for pin in config.charts_in_use(config.StackConfig.model_validate(stack_config_values(stack)))
    )
    assert in_use == in_plan


def stack_config_values(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    return {key.split(":", 1)[1]: value for key, value in document.items()}


def test_a_mirror_without_a_pinned_chart_is_refused_before_any_resource(tmp_path: Path) -> None:
    stack = config.StackConfig()
    for pin in config.charts_in_use(stack):
        (tmp_path / f"{pin.name}-{pin.version}.tgz").write_bytes(b"")
    mirror = {"charts.source": "mirror", "charts.mirror": str(tmp_path)}
    assert run_program("dev", mirror).resources, "a complete mirror is accepted"
    (tmp_path / f"tempo-{stack.versions.chart('tempo').version}.tgz").unlink()
    with pytest.raises(config.ConfigError) as caught:
        run_program("dev", mirror)
    (problem,) = [p for p in caught.value.problems if "charts.mirror" in p]
    assert f"tempo-{stack.versions.chart('tempo').version}.tgz" in problem and "versions.charts" in problem
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]
    with pytest.raises(config.ConfigError, match="is not a directory"):
        run_program("dev", {**mirror, "charts.mirror": str(tmp_path / "nowhere")})


# ---------------------------------------------------------------------------------------------
# Malformed stack files: file, line and column, what is expected, exit 2, no traceback
# ---------------------------------------------------------------------------------------------

MALFORMED: list[tuple[str, str, list[str]]] = [
    ("unclosed flow sequence", "config:\n  llm-tracing-infra:engine: [mock\n", ["expected a mapping"]),
    ("unclosed flow mapping", "config: {llm-tracing-infra:engine: mock\n", ["expected a mapping"]),
    ("tab indentation", "config:\n\tllm-tracing-infra:engine: mock\n", ["indent with spaces, not tabs"]),
    ("config as a list", "config:\n  - llm-tracing-infra:engine\n", ["'config' is a list"]),
    ("config as a scalar", "config: 5\n", ["'config' is a scalar"]),
    ("whole file a scalar", "just a string\n", ["the file is a scalar"]),
    ("whole file a list", "- config\n", ["the file is a list"]),
    (
        "duplicate key",
        "config:\n  llm-tracing-infra:engine: mock\n  llm-tracing-infra:engine: vllm\n",
        ["duplicate key 'llm-tracing-infra:engine'", "first at line 2"],
    ),
    (
        "duplicate nested key",
        "config:\n  llm-tracing-infra:vllm:\n    model: a/b\n    model: c/d\n",
        ["duplicate key 'model'"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in MALFORMED], ids=[n for n, _, _ in MALFORMED])
def test_malformed_stack_file_names_file_line_and_column(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    out = io.StringIO()
    plan, code = preview("dev", stream=out, root=tmp_path)
    output = out.getvalue()
    assert (plan, code) == (None, EXIT_CONFIG), output
    assert re.search(r"Pulumi\.dev\.yaml:[0-9]+:[0-9]+: ", output), output
    assert all(fragment in output for fragment in expected), output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  llm-tracing-infr:engine: mock\n", "did you mean 'llm-tracing-infra'"),
        ("config:\n  kubernets:context: lab\n", "did you mean 'kubernetes'"),
        ("config:\n  42: x\n", "is not a string"),
    ],
)
def test_stack_file_keys_of_unknown_namespaces(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    out = io.StringIO()
    assert preview("dev", stream=out, root=tmp_path) == (None, EXIT_CONFIG)
    assert expected in out.getvalue() and "Pulumi.dev.yaml" in out.getvalue()


# ---------------------------------------------------------------------------------------------
# Valid edge cases: accepted as given
# ---------------------------------------------------------------------------------------------


def test_decimal_exponent_quantity_is_accepted() -> None:
    plan = run_program("gpu", {"vllm.cacheSize": "5e9"})
    (claim,) = [r for r in plan.resources if r.kind == "PersistentVolumeClaim" and r.k8s_name == "vllm-model-cache"]
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "5e9"


def test_list_index_path_syntax_sets_one_item() -> None:
    plan = run_program("dev", {"gateway.adminAllowedCidrs[0]": "10.1.0.0/16"})
    (policy,) = [
        r for r in plan.resources if r.kind == "AuthorizationPolicy" and r.k8s_name == "admin-uis-source-ranges"
    ]
    assert policy.inputs["spec"]["rules"][0]["from"][0]["source"]["notRemoteIpBlocks"] == ["10.1.0.0/16"]


@pytest.mark.parametrize(
    "raw",
    [
        {"vllm": {"maxModelLen": 32768}},  # exactly the pinned model's window
        {"vllm": {"model": "org/Model.v1_2-x", "maxModelLen": 1048576}},  # unknown model: up to the bound
        {"litellm": {"resources": json.loads(res(cpu="1", memory="1Gi"))}},  # requests equal to limits
        {"litellm": {"resources": json.loads(res(cpu="500m", memory="1e9"))}},  # 1e9 bytes < 1Gi
        {"k3s": {"host": "::1", "user": "ubuntu"}},
        {"k3s": {"host": "GPU-Box.lan", "user": "_svc-deploy"}},
        {"k3s": {"host": "192.168.1.20"}},
        {"monitoring": {"alerts": {"errorRatio": 1, "minRequestRate": 0}}},
        {"gateway": {"restrictAdminUis": False, "adminAllowedCidrs": []}},
        {"gateway": {"https": {"enabled": True, "acmeEnvironment": "production"}}},
        {"charts": {"source": "mirror", "mirror": "oci://registry.example.com/charts"}},
        {"namespaces": {"llm": "x" * 63}},
        {"langfuse": {"organization": "Acme Research", "project": "p"}},
        {"tracing": {"collector": {"queueSize": 1000000}}},
    ],
)
def test_valid_edge_cases_are_accepted(raw: dict[str, Any]) -> None:
    config.validate(raw, set())

"""LoggingStack: Loki (single binary, filesystem) and Grafana Alloy collecting every pod's logs.

Alloy runs as a DaemonSet and tails the logs of the pods on its own node through the Kubernetes
API (``loki.source.kubernetes``): no hostPath, no root, a restricted security context. Each
stream is labelled namespace/pod/container/app, and Python tracebacks are stitched into the
log entry they belong to before they are pushed to Loki. Grafana reads Loki through the
``loki`` Service that ``endpoints()`` names.

The Alloy configuration is a ConfigMap of this component rather than the chart's
``alloy.configMap.content``: the chart runs that through Helm's ``tpl``, which would eat the
``{{ .Value }}`` template of the traceback stage.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components._k8s import NO_SIDECAR_LABELS, TOKEN_PREFIX, labels, restricted_security_context
from components.charts import helm_chart
from components.contracts import LoggingEndpoints, NamespaceRef, ServiceRef
from config.sections import Charts, Logging
from config.types import resources

LOKI_FULLNAME = "loki"
"""Loki chart ``fullnameOverride``: the monolithic Service is ``loki`` (templates/monolithic/service.yaml)."""
ALLOY_FULLNAME = "alloy"
ALLOY_CONFIG = "alloy-config"
"""ConfigMap holding Alloy's configuration (key ``config.alloy``)."""
ALLOY_CONFIG_KEY = "config.alloy"

CONTINUATION_MARK = "\u241e"
"""Prefix put on traceback lines that start at column 0, so the multiline stage keeps them in the
entry above; removed again once the entry is stitched. (RE2 has no negative lookahead, so "a line
that is not a continuation" cannot be one regular expression without it.)"""
PYTHON_TRACEBACK_LINE = (
    r"^(Traceback \(most recent call last\):"
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|[A-Za-z_][A-Za-z0-9_.]*(?:Error|Exception|Exit|Interrupt|Warning)(?::|$))"
)
"""Unindented lines of a Python traceback; the frames in between are indented, which already marks them."""
FIRST_LINE = f"^[^{CONTINUATION_MARK}\\s]"
"""A log entry starts with a line that is neither indented, empty, nor marked as traceback continuation."""


def endpoints(namespace: str) -> LoggingEndpoints:
    return LoggingEndpoints(loki=ServiceRef(LOKI_FULLNAME, namespace, 3100))


def _retention(duration: str) -> str:
    """Loki takes Prometheus-style durations, but its retention must be whole hours (24h multiples advised)."""
    factors = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    seconds = sum(float(n) * factors[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))
    return f"{max(int(seconds // 3600), 1)}h"


def loki_values(logging: Logging, *, retain: bool) -> dict[str, Any]:
    off = {"enabled": False}
    return {
        "fullnameOverride": LOKI_FULLNAME,
        "deploymentMode": "Monolithic",
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1, "path_prefix": "/var/loki"},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": "2024-04-01", "store": "tsdb", "object_store": "filesystem", "schema": "v13",
                        "index": {"prefix": "index_", "period": "24h"},
                    }
                ]
            },
            # Retention is the compactor's job: it deletes chunks older than retention_period.
            "limits_config": {
                "retention_period": _retention(logging.retention),
                "ingestion_rate_mb": logging.limits.ingestion_rate_mb,
                "ingestion_burst_size_mb": logging.limits.ingestion_burst_size_mb,
                "max_global_streams_per_user": logging.limits.max_streams_per_user,
                "max_line_size": f"{logging.limits.max_line_size_kib}KB",  # Loki's KB is 1024 bytes
            },
            "compactor": {
                "retention_enabled": True,
                "delete_request_store": "filesystem",
                "working_directory": "/var/loki/compactor",
            },
            "analytics": {"reporting_enabled": False},
        },
        "singleBinary": {
            "replicas": 1,
            "sidecar": False,
            "resources": logging.loki_resources.as_k8s(),
            "podLabels": {"app": LOKI_FULLNAME},
            "persistence": {
                "enabled": True,
                "size": logging.storage_size,
                "annotations": {"helm.sh/resource-policy": "keep"} if retain else {},
                "enableStatefulSetAutoDeletePVC": not retain,
            },
        },
        # Monolithic, filesystem, one node: no nginx gateway, memcached caches, MinIO, ruler or canary.
        "gateway": off,
        "chunksCache": off,
        "resultsCache": off,
        "minio": off,
        "ruler": off,
        "lokiCanary": off,
        "test": off,
        "sidecar": {"rules": off},
        # Without the rules sidecar Loki needs no API access: namespaced RBAC renders no ClusterRole
        # (cluster-wide it renders one with `rules: []`, which the API server drops, so every
        # preview after `up` would show a diff).
        "rbac": {"namespaced": True},
        # The chart defaults the simple-scalable targets to 3 replicas each and refuses to render
        # them next to a single binary (templates/validate.yaml): monolithic means zero of them.
        "read": {"replicas": 0},
        "write": {"replicas": 0},
        "backend": {"replicas": 0},
    }


def _river(text: str) -> str:
    """An Alloy string literal (Go escapes; the mark stays a literal UTF-8 character)."""
    return json.dumps(text, ensure_ascii=False)


def alloy_config(loki: ServiceRef) -> str:
    """Alloy's pipeline: this node's pods -> labels -> traceback stitching -> Loki."""
    return f"""\
// Pods on this node only: one Alloy per node shares the work.
discovery.kubernetes "pods" {{
  role = "pod"
  selectors {{
    role  = "pod"
    field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)
  }}
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  // app: the recommended label, else the plain `app` label, else the container name.
  rule {{
    source_labels = [
      "__meta_kubernetes_pod_label_app_kubernetes_io_name",
      "__meta_kubernetes_pod_label_app",
      "__meta_kubernetes_pod_container_name",
    ]
    regex        = "^;*([^;]+).*$"
    target_label = "app"
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.process.pods.receiver]
}}

loki.process "pods" {{
  forward_to = [loki.write.loki.receiver]

  // Python tracebacks: mark their unindented lines, then stitch every marked, indented or
  // empty line onto the entry above it.
  stage.replace {{
    expression = {_river(PYTHON_TRACEBACK_LINE)}
    replace    = {_river(CONTINUATION_MARK + "{{ .Value }}")}
  }}
  stage.multiline {{
    firstline     = {_river(FIRST_LINE)}
    max_wait_time = "3s"
    max_lines     = 500
  }}
  stage.replace {{
    expression = {_river(f"({CONTINUATION_MARK})")}
    replace    = ""
  }}
}}

loki.write "loki" {{
  endpoint {{
    url = {_river(loki.url(path="/loki/api/v1/push"))}
  }}
}}
"""


def alloy_values(logging: Logging, node_tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``node_tolerations``: taints of dedicated node pools (GPU) whose pods' logs Alloy must read too."""
    return {
        "fullnameOverride": ALLOY_FULLNAME,
        "crds": {"create": False},
        "alloy": {
            "configMap": {"create": False, "name": ALLOY_CONFIG, "key": ALLOY_CONFIG_KEY},
            "enableReporting": False,
            # Read positions and the WAL live here: a writable emptyDir under a read-only root.
            "storagePath": "/tmp/alloy",
            "mounts": {"varlog": False, "dockercontainers": False, "extra": [{"name": "tmp", "mountPath": "/tmp"}]},
            "resources": logging.alloy_resources.as_k8s(),
            "securityContext": restricted_security_context(run_as_user=473),
        },
        "configReloader": {
            "resources": resources("10m", "32Mi", "100m", "64Mi").as_k8s(),
        },
        "controller": {
            "type": "daemonset",
            "volumes": {"extra": [{"name": "tmp", "emptyDir": {}}]},
            # A DaemonSet pod with a sidecar would hold every node's log stream hostage to the mesh.
            "podLabels": {**NO_SIDECAR_LABELS, "app": ALLOY_FULLNAME},
            **({"tolerations": list(node_tolerations)} if node_tolerations else {}),
        },
        "global": {"podSecurityContext": {"runAsNonRoot": True, "runAsUser": 473, "runAsGroup": 473, "fsGroup": 473}},
    }


class LoggingStackArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Logging
    namespace: NamespaceRef
    loki_chart: versions.ChartPin
    alloy_chart: versions.ChartPin
    charts: Charts
    """Where charts come from (``charts`` section)."""
    retain: bool
    """Loki's volume outlives `pulumi destroy` (``storage.retainOnDestroy``)."""
    node_tolerations: list[dict[str, Any]] = []
    """Taints of dedicated node pools (the GPU pool's): Alloy, a node agent, runs on those nodes too."""


class LoggingStack(pulumi.ComponentResource):
    """Loki and the Alloy DaemonSet that feeds it."""

    endpoints: LoggingEndpoints
    """Loki's Service (Grafana's Loki datasource)."""

    def __init__(self, name: str, args: LoggingStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:logging_stack:LoggingStack", name, None, opts)
        ns = args.namespace.output
        self.endpoints = endpoints(args.namespace.name)

        loki = helm_chart(
            f"{name}-loki", args.loki_chart, args.charts, namespace=ns,
            values=loki_values(args.settings, retain=args.retain), opts=pulumi.ResourceOptions(parent=self),
        )
        alloy_config_map = k8s.core.v1.ConfigMap(
            f"{name}-alloy-config",
            metadata={"name": ALLOY_CONFIG, "namespace": ns, "labels": labels(ALLOY_FULLNAME, "config")},
            data={ALLOY_CONFIG_KEY: alloy_config(self.endpoints.loki)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        helm_chart(
            f"{name}-alloy", args.alloy_chart, args.charts, namespace=ns,
            values=alloy_values(args.settings, args.node_tolerations),
            # Its pods mount the ConfigMap; Loki first so the first pushes land.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[alloy_config_map, loki]),
        )
        self.register_outputs({"loki": self.endpoints.loki.url()})

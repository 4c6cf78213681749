"""No Istio sidecar in node-exporter while its namespace has injection on.

node-exporter runs with hostNetwork: an injected sidecar would capture the node's own traffic, and
the pod has no mesh identity to speak mTLS with anyway. Its pods must carry the opt-out
(``sidecar.istio.io/inject: "false"``, as a label or an annotation) whenever the namespace they land
in is injected. A stack policy, because whether that namespace is injected is on another resource.

Two ways node-exporter arrives: a raw DaemonSet (or the one a chart rendered, which ``pulumi preview``
sees as a child of the chart), or kube-prometheus-stack / prometheus-node-exporter chart values,
where ``prometheus-node-exporter.podLabels``/``podAnnotations`` must carry the opt-out while
``nodeExporter.enabled`` (default true) holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from llm_policies._util import (
    CHART_TYPES,
    UNKNOWN,
    K8sObject,
    Node,
    as_dict,
    as_list,
    chart_name,
    containers,
    dig,
    is_true,
    k8s_objects,
    pod_template,
    stack_nodes,
)

OPT_OUT = "sidecar.istio.io/inject"
KPS_CHARTS = ("kube-prometheus-stack",)
NODE_EXPORTER_CHARTS = ("prometheus-node-exporter",)
FIX = f'add {OPT_OUT}: "false" to the pod labels'


def opted_out(*maps: Any) -> bool:
    return any(str(as_dict(m).get(OPT_OUT, "")).strip().lower() == "false" for m in maps)


def injected_namespaces(nodes: Mapping[str, Node]) -> set[str]:
    """Names of the stack's Namespaces with sidecar injection on (istio-injection or a revision label)."""
    injected: set[str] = set()
    for node in nodes.values():
        for obj in k8s_objects(node.type, node.props):
            if obj.kind != "Namespace" or not isinstance(obj.name, str):
                continue
            labels = obj.labels
            if labels.get("istio-injection") == "enabled" or (
                "istio.io/rev" in labels and labels.get("istio-injection") != "disabled"
            ):
                injected.add(obj.name)
    return injected


NODE_EXPORTER_PORT = 9100


def is_node_exporter(obj: K8sObject) -> bool:
    """node-exporter by what it runs: its image, or host networking with its port or its flags; or its name."""
    template = pod_template(obj)
    if template is None:
        return False
    pod = template[1]
    pod_labels = as_dict(dig(pod, "metadata", "labels"))
    words = [obj.name, *map(str, obj.labels.values()), *map(str, pod_labels.values())]
    if any("node-exporter" in word for word in words):
        return True
    host_network = dig(pod, "spec", "hostNetwork") is True
    for _, container in containers(obj):
        image = str(container.get("image") or "").lower()
        if "node-exporter" in image or "node_exporter" in image:
            return True
        ports = [dig(as_dict(p), "containerPort") for p in as_list(container.get("ports"))]
        args = " ".join(str(a) for a in as_list(container.get("command")) + as_list(container.get("args")))
        if host_network and (NODE_EXPORTER_PORT in ports or "--path.procfs" in args or "--path.sysfs" in args):
            return True
    return False


def namespace_state(namespace: Any, injected: set[str]) -> str | None:
    """Why the namespace needs the opt-out (None when it does not)."""
    if namespace is UNKNOWN:
        return "its namespace is not known during preview"
    name = namespace if isinstance(namespace, str) and namespace else "default"
    return f"namespace '{name}' has istio-injection=enabled" if name in injected else None


def daemonset_violations(node: Node, injected: set[str]) -> Iterator[str]:
    for obj in k8s_objects(node.type, node.props):
        if obj.kind not in ("DaemonSet", "Deployment", "StatefulSet") or not is_node_exporter(obj):
            continue
        reason = namespace_state(obj.namespace, injected)
        template = as_dict(dig(obj.body, "spec", "template"))
        if reason and not opted_out(dig(template, "metadata", "labels"), dig(template, "metadata", "annotations")):
            yield (
                f"node-exporter {obj.kind} '{obj.name}' would get an Istio sidecar ({reason}): {FIX} "
                f"({obj.where('spec.template.metadata.labels')})."
            )


def chart_violations(node: Node, injected: set[str]) -> Iterator[str]:
    chart = chart_name(node.props)
    values = as_dict(node.props.get("values"))
    if chart in KPS_CHARTS:
        enabled = dig(values, "nodeExporter", "enabled", default=True)
        if not (enabled is True or is_true(enabled)):
            return
        sub, prefix = as_dict(values.get("prometheus-node-exporter")), "prometheus-node-exporter."
    elif chart in NODE_EXPORTER_CHARTS:
        sub, prefix = values, ""
    else:
        return
    namespace = sub.get("namespaceOverride") or node.props.get("namespace")
    reason = namespace_state(namespace, injected)
    if reason and not opted_out(sub.get("podLabels"), sub.get("podAnnotations")):
        yield (
            f"chart '{chart}' ('{node.name}') deploys node-exporter without the sidecar opt-out ({reason}): "
            f'set values.{prefix}podLabels["{OPT_OUT}"] = "false".'
        )


def validate_node_exporter_no_sidecar(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    nodes = stack_nodes(args)
    injected = injected_namespaces(nodes)
    for node in nodes.values():
        found = chart_violations(node, injected) if node.type in CHART_TYPES else daemonset_violations(node, injected)
        for message in found:
            report_violation(message, node.urn)


POLICY = StackValidationPolicy(
    name="node-exporter-sidecar-opt-out",
    description="node-exporter pods must opt out of Istio sidecar injection when their namespace is injected.",
    validate=validate_node_exporter_no_sidecar,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["istio", "monitoring"],
    remediation_steps=f'Label the node-exporter pods {OPT_OUT}: "false" (chart: prometheus-node-exporter.podLabels).',
)

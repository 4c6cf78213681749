"""Advisory: every image pinned to a version (no ``:latest``, no missing tag).

An unpinned image changes under a running platform on the next pull: the same preview deploys
different software next week. Digests (``@sha256:...``) count as pinned. In chart values only an
explicit ``tag: latest`` is flagged: an empty tag means the chart's own pinned appVersion.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import (
    CHART_TYPES,
    WORKLOAD_KINDS,
    as_dict,
    chart_name,
    container_label,
    containers,
    image_tag,
    k8s_objects,
    resource_validator,
    walk,
)

FIX = "pin a release tag or digest from versions.py"


def check_image_pinned(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Containers with untagged or ``:latest`` images; ``tag: latest`` in chart values."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind not in WORKLOAD_KINDS:
            continue
        for path, container in containers(obj):
            image = container.get("image")
            if not isinstance(image, str):
                continue
            tag = image_tag(image)
            if tag is None or tag == "latest":
                state = "has no tag" if tag is None else "uses :latest"
                yield f"{obj.describe()} {container_label(container, path)} image '{image}' {state}: {FIX}."
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path, node in walk(props.get("values")):
            node = as_dict(node)
            if str(node.get("tag", "")).strip().lower() == "latest":
                yield f"Helm values of '{chart}' set {path + '.' if path else ''}tag: latest: {FIX}."


POLICY = ResourceValidationPolicy(
    name="k8s-image-pinned",
    description="Container images are pinned to a release tag or digest (no :latest, no missing tag).",
    validate=resource_validator(check_image_pinned),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["supply-chain", "hygiene"],
    remediation_steps="Reference images as repository:tag with the tag pinned in versions.py.",
)

"""Advisory: data PersistentVolumeClaims survive ``pulumi destroy``.

Model weights, Prometheus TSDB and trace blocks take hours to rebuild. A PVC is retained when the
resource has ``retain_on_delete`` or carries ``helm.sh/resource-policy: keep`` (which the Helm
chart resource honours); StatefulSet claim templates are retained unless their
``persistentVolumeClaimRetentionPolicy.whenDeleted`` is ``Delete``.

Visibility: ``pulumi preview`` gives policies no ``retainOnDelete`` (its ``PolicyResourceOptions``
has no such field), so there a PVC without the annotation is reported *not applicable*. The offline
preview captures the option and passes it on ``args.opts.retain_on_delete``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from llm_policies._util import as_dict, dig, k8s_objects, plain_props

KEEP = ("helm.sh/resource-policy", "keep")
FIX = "set retain_on_delete=cfg.storage.retain_on_destroy on it (charts: annotate it helm.sh/resource-policy: keep)"


def check_pvc_retained(resource_type: str, props: dict[str, Any], retain_on_delete: bool | None) -> Iterator[str]:
    """Violations for PVCs and claim templates; raises LookupError when retention cannot be seen."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind == "PersistentVolumeClaim":
            annotations = as_dict(dig(obj.body, "metadata", "annotations"))
            if annotations.get(KEEP[0]) == KEEP[1] or (retain_on_delete and not obj.path):
                continue
            if retain_on_delete is None and not obj.path:
                raise LookupError("retainOnDelete is not visible to policies under pulumi preview")
            yield f"{obj.describe()} is deleted with the stack: {FIX}."
        elif obj.kind == "StatefulSet" and dig(obj.body, "spec", "volumeClaimTemplates"):
            policy = dig(obj.body, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted")
            if policy == "Delete":
                yield (
                    f"{obj.describe()} deletes its volume claims with it (persistentVolumeClaimRetentionPolicy."
                    "whenDeleted: Delete): set it to Retain."
                )


def validate_pvc_retained(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    retain = getattr(args.opts, "retain_on_delete", None)
    try:
        for message in check_pvc_retained(args.resource_type, plain_props(args.props), retain):
            report_violation(message, None)
    except LookupError as exc:
        args.not_applicable(str(exc))


POLICY = ResourceValidationPolicy(
    name="k8s-pvc-retained-on-delete",
    description="Data PersistentVolumeClaims are retained when the stack is destroyed.",
    validate=validate_pvc_retained,
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["data", "reliability"],
    remediation_steps="Give data PVCs retain_on_delete (or helm.sh/resource-policy: keep in charts).",
)

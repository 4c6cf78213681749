"""Helm charts as ``helm.v4.Chart`` resources, from upstream repositories or a mirror.

Why ``helm.v4.Chart`` and not ``helm.v3.Release``: v4 renders the chart like ``helm template``
and registers every object as its own Pulumi resource, so ``pulumi preview --policy-pack``
sees (and can block) an Ingress or VirtualService that chart values would switch on, and
previews diff per object. Its cost, no Helm hooks, is acceptable: the charts used here install
nothing essential through hooks, and jobs that would run as hooks run as ordinary resources.

Charts that mark their CRDs ``helm.sh/resource-policy: keep`` (Istio base, cert-manager, the
ClickHouse operator) would leave them behind on `pulumi destroy`: helm.v4.Chart turns the
annotation into retainOnDelete. This platform owns its CRDs, so every chart gets the
``crds_follow_the_stack`` transform and `pulumi destroy` leaves only the data volumes.

Versions come from ``config.Versions`` (defaults pinned in ``versions.py``). With
``charts.source=mirror`` the same pinned version is taken from a directory of packaged charts
(``<name>-<version>.tgz``) or a Helm repository URL, for air-gapped installs.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

import versions
from config.sections import Charts


def chart_source(pin: versions.ChartPin, charts: Charts) -> dict[str, Any]:
    """The ``chart``/``version``/``repository_opts`` arguments for one pinned chart."""
    if charts.source == "mirror" and charts.mirror:
        mirror = charts.mirror
        if mirror.startswith(("http://", "https://", "oci://")):
            return {"chart": pin.name, "version": pin.version, "repository_opts": {"repo": mirror}}
        path = os.path.join(os.path.abspath(os.path.expanduser(mirror)), f"{pin.name}-{pin.version}.tgz")
        return {"chart": path}
    if pin.repo.startswith("oci://"):
        return {"chart": f"{pin.repo}/{pin.name}", "version": pin.version}
    return {"chart": pin.name, "version": pin.version, "repository_opts": {"repo": pin.repo}}


def crds_follow_the_stack(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """CRDs rendered by a chart are deleted with the stack, whatever the chart's resource policy."""
    if args.type_ != "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition":
        return None
    keep_off = pulumi.ResourceOptions(retain_on_delete=False)
    return pulumi.ResourceTransformResult(args.props, pulumi.ResourceOptions.merge(args.opts, keep_off))


def helm_chart(
    name: str,
    pin: versions.ChartPin,
    charts: Charts,
    *,
    namespace: pulumi.Input[str],
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
    skip_crds: bool = False,
    release_name: str | None = None,
) -> k8s.helm.v4.Chart:
    """Register one chart; ``values`` must hold no secrets (charts take them from Secrets).

    ``release_name`` fixes the Helm release name (default: the resource name), which charts use
    to name what they render when no ``fullnameOverride`` applies (e.g. subcharts).
    """
    return k8s.helm.v4.Chart(
        name,
        name=release_name,
        namespace=namespace,
        values=values,
        skip_crds=skip_crds,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transforms=[crds_follow_the_stack])),
        **chart_source(pin, charts),
    )

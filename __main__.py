"""llm-tracing-infra: an LLM serving and observability platform on Kubernetes, in one `pulumi up`.

Reads like the architecture: configuration in, components wired from each other's outputs,
outputs exported. This is the only module that reads the stack configuration as a whole: each
component gets its own section and explicit inputs (namespace, images, charts, retention, the
endpoints it talks to). Order comes from data (namespaces, endpoints) and, where no data flows,
from explicit dependencies with a comment saying why.
"""

import dataclasses

import pulumi
import pulumi_kubernetes as k8s

import config
from components import alert_rules, litellm, logging_stack, serving, sglang_server, tracing_pipeline, vllm_server
from components.autoscaling import Autoscaling, AutoscalingArgs
from components.cert_manager import CertManager, CertManagerArgs
from components.contracts import with_otlp_auth
from components.dcgm import Dcgm, DcgmArgs
from components.gateway_routes import Backends, GatewayRoutes, GatewayRoutesArgs
from components.istio_mesh import NEVER_INJECTED, IstioMesh, IstioMeshArgs
from components.k3s_host import K3sHost, K3sHostArgs
from components.karpenter import ENGINE_SELECTOR, GpuCapacity, GpuCapacityArgs
from components.langfuse import Langfuse, LangfuseArgs, public_url
from components.litellm import LiteLlm, LiteLlmArgs
from components.logging_stack import LoggingStack, LoggingStackArgs
from components.mock_engine import MockEngineArgs
from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from components.mtls import MeshMtls, MeshMtlsArgs
from components.network_edges import Wiring, platform_edges
from components.network_policies import NetworkPolicies, NetworkPoliciesArgs
from components.sglang_server import SglangServerArgs
from components.tracing_pipeline import TracingPipeline, TracingPipelineArgs
from components.verification import Verification, VerificationArgs, scrape_targets
from components.vllm_server import VllmServerArgs

# Configuration: validated as a whole (with the flags the engines own) before any resource is registered.
cfg, secrets = config.load(
    rules=[
        lambda c: vllm_server.owned_flag_problems(c.vllm),
        lambda c: sglang_server.owned_flag_problems(c.sglang),
    ]
)
retain = cfg.storage.retain_on_destroy
charts, chart = cfg.charts, cfg.versions.chart

# The cluster: k3s installed on the stack's host (k3s.host), else an existing one (kubeconfig/context).
host = None
if cfg.k3s.host:
    host = K3sHost(
        "host",
        K3sHostArgs(
            settings=cfg.k3s, gpu=cfg.gpu.enabled, ssh_private_key=secrets.get("k3sSshPrivateKey"),
            gpu_node_label=cfg.gpu.node_label,
        ),
    )
# What `pulumi destroy` retains (data namespaces, volumes, credentials) is adopted by the next `up`
# instead of failing with AlreadyExists (upsert, off by default since pulumi-kubernetes 4.29).
if host:
    provider = k8s.Provider("k8s", kubeconfig=host.kubeconfig, upsert_existing_objects=retain)
else:
    provider = k8s.Provider(
        "k8s", kubeconfig=cfg.kubernetes.kubeconfig, context=cfg.kubernetes.context,
        upsert_existing_objects=retain,
    )
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=[host.ready] if host else None)

# Endpoints each component will serve, known before it exists: peers wire to these, never to
# retyped names, and the wiring checks prove that each one is a Service the program creates.
tracing_endpoints = tracing_pipeline.endpoints(cfg.namespaces.tracing, otlp_auth=cfg.tracing.otlp_auth.enabled)
logging_endpoints = logging_stack.endpoints(cfg.namespaces.logging)

# Mesh first: Gateway API CRDs -> istio base -> istiod, and the platform's namespaces.
mesh = IstioMesh(
    "mesh",
    IstioMeshArgs(
        settings=cfg.istio, namespaces=cfg.namespaces, istio_version=cfg.versions.istio,
        gateway_api_bundle=config.gateway_api_bundle(cfg), charts=charts, retain_data_namespaces=retain,
        collector=tracing_endpoints.mesh_spans,
    ),
    on_cluster,
)


def ready_in(namespace_key: str) -> pulumi.ResourceOptions:
    """Workloads in injected namespaces wait for istiod's injector; the others only for their namespace."""
    return pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=mesh.ready_for(namespace_key))


engine_names = cfg.engines()
monitoring = MonitoringStack(
    "monitoring",
    MonitoringStackArgs(
        settings=cfg.monitoring, namespace=mesh.namespace("monitoring"), chart=chart("kube-prometheus-stack"),
        charts=charts, generated_secrets=cfg.generated_secrets, retain=retain,
        grafana_admin_password=secrets.get("grafanaAdminPassword"),
        alertmanager_webhook_url=secrets.get("alertmanagerWebhookUrl"),
        environment=pulumi.get_stack(),
        alert_scope=alert_rules.AlertScope(
            llm_namespaces=(cfg.namespaces.llm, cfg.namespaces.litellm),
            vllm=serving.endpoint("vllm", cfg.namespaces.llm, cfg.vllm.served_model_name, cfg.vllm.model).service,
            vllm_deployed="vllm" in engine_names, gpu=cfg.gpu.enabled,
            gpu_memory_utilization=cfg.vllm.gpu_memory_utilization,
        ),
        gpu_dashboards=cfg.gpu.enabled,
        tracing=tracing_endpoints, logging=logging_endpoints if cfg.logging.enabled else None,
    ),
    ready_in("monitoring"),
)
# cert-manager once, for every consumer that needs certificates (the Gateway's HTTPS, Langfuse).
cert_manager = None
if cfg.needs_cert_manager() and cfg.cert_manager.install:
    cert_manager = CertManager(
        "cert-manager", CertManagerArgs(settings=cfg.cert_manager, chart=chart("cert-manager"), charts=charts),
        on_cluster,
    )
# Langfuse before the pipeline: the collector may export LLM spans to it with its project keys.
observer = None
if cfg.langfuse.enabled:
    observer = Langfuse(
        "langfuse",
        LangfuseArgs(
            settings=cfg.langfuse, namespace=mesh.namespace("langfuse"), chart=chart("langfuse"),
            operator_chart=chart("clickhouse-operator-helm"), cert_manager=cert_manager.chart if cert_manager else None,
            charts=charts, curl_image=cfg.versions.image("curl"),
            public_url=public_url(https=cfg.gateway.https.enabled, base_domain=cfg.gateway.base_domain),
            retain=retain, generated_secrets=cfg.generated_secrets,
            credential_seed=secrets.get("langfuseCredentialSeed"),
        ),
        ready_in("langfuse"),
    )
tracing = TracingPipeline(
    "tracing",
    TracingPipelineArgs(
        settings=cfg.tracing, namespace=mesh.namespace("tracing"), tempo_chart=chart("tempo"),
        collector_chart=chart("opentelemetry-collector"), charts=charts,
        collector_image=cfg.versions.image("otelCollector"), retain=retain,
        prometheus=monitoring.endpoints.prometheus, monitoring_crds=monitoring.crds, cluster=pulumi.get_stack(),
        langfuse=observer.connection if observer and cfg.tracing.collector.export_to_langfuse else None,
        langfuse_self_reporting=(litellm.NAME,),
        placement=cfg.placement, autoscaling=cfg.autoscaling.collector if cfg.autoscaling.enabled else None,
        generated_secrets=cfg.generated_secrets, otlp_token=secrets.get("otlpBearerToken"),
    ),
    ready_in("tracing"),
)
if cfg.logging.enabled:
    LoggingStack(
        "logging",
        LoggingStackArgs(
            settings=cfg.logging, namespace=mesh.namespace("logging"), loki_chart=chart("loki"),
            alloy_chart=chart("alloy"), charts=charts, retain=retain,
            node_tolerations=[t.model_dump(by_alias=True, exclude_none=True) for t in cfg.gpu.node_pool.tolerations()],
        ),
        ready_in("logging"),
    )

gpu = None
if cfg.gpu.enabled:
    gpu = Dcgm(
        "gpu",
        DcgmArgs(
            settings=cfg.gpu, namespace=mesh.namespace("gpu"), device_plugin_chart=chart("nvidia-device-plugin"),
            exporter_chart=chart("dcgm-exporter"), charts=charts, monitoring_crds=monitoring.crds,
        ),
        on_cluster,
    )
engine_gpu = gpu.runtime if gpu else None
# Cloud GPU capacity: Karpenter grows the dedicated GPU pool on EKS, and the engines select its NodePool.
if engine_gpu and cfg.cloud.karpenter.enabled:
    GpuCapacity(
        "gpu-capacity",
        GpuCapacityArgs(
            settings=cfg.cloud.karpenter, pool=cfg.gpu.node_pool, crd_chart=chart("karpenter-crd"),
            controller_chart=chart("karpenter"), charts=charts,
        ),
        on_cluster,
    )
    engine_gpu = dataclasses.replace(engine_gpu, node_selector={**engine_gpu.node_selector, **ENGINE_SELECTOR})
# One component per engine (primary first); GPU engines exist only with the GPU component (config rule).
llm = mesh.namespace("llm")
mock_args = vllm_args = sglang_args = None
if "mock" in engine_names:
    mock_args = MockEngineArgs(
        settings=cfg.mock_engine, image=cfg.versions.image("mockEngine"), namespace=llm, tracing=tracing.endpoints,
        monitoring_crds=monitoring.crds, placement=cfg.placement,
    )
if engine_gpu and "vllm" in engine_names:
    vllm_args = VllmServerArgs(
        settings=cfg.vllm, image=cfg.versions.image("vllm"), namespace=llm, gpu=engine_gpu,
        tracing=tracing.endpoints, monitoring_crds=monitoring.crds, retain_cache=retain,
        hf_token=secrets.get("hfToken"), autoscaled=cfg.autoscaling.enabled, placement=cfg.placement,
    )
if engine_gpu and "sglang" in engine_names:
    sglang_args = SglangServerArgs(
        settings=cfg.sglang, image=cfg.versions.image("sglang"), namespace=llm, gpu=engine_gpu,
        tracing=tracing.endpoints, monitoring_crds=monitoring.crds, retain_cache=retain,
        hf_token=secrets.get("hfToken"), autoscaled=cfg.autoscaling.enabled, placement=cfg.placement,
    )
engines = serving.deploy(engine_names, mock=mock_args, vllm=vllm_args, sglang=sglang_args, opts=ready_in("llm"))

proxy = None
if cfg.litellm.enabled:
    proxy = LiteLlm(
        "litellm",
        LiteLlmArgs(
            settings=cfg.litellm, namespace=mesh.namespace("litellm"), image=cfg.versions.image("litellm"),
            generated_secrets=cfg.generated_secrets, master_key=secrets.get("litellmMasterKey"), engines=engines,
            canary=cfg.gateway.canary, tracing=tracing.endpoints, langfuse=observer.connection if observer else None,
            monitoring_crds=monitoring.crds, placement=cfg.placement,
            autoscaling=cfg.autoscaling.litellm if cfg.autoscaling.enabled else None,
        ),
        ready_in("litellm"),
    )
# Past one machine: GPU engines scale on their queue signals (KEDA, reading Prometheus).
scaler = None
if cfg.autoscaling.enabled:
    scaler = Autoscaling(
        "autoscaling",
        AutoscalingArgs(
            settings=cfg.autoscaling, keda_chart=chart("keda"), charts=charts,
            prometheus=monitoring.endpoints.prometheus, engines=[e for e in engines if e.engine in ("vllm", "sglang")],
        ),
        on_cluster,
    )

routes = GatewayRoutes(
    "gateway",
    GatewayRoutesArgs(
        settings=cfg.gateway, namespace=cfg.namespaces.istio, primary_engine=cfg.engine,
        backends=Backends(
            grafana=monitoring.endpoints.grafana, prometheus=monitoring.endpoints.prometheus,
            tempo=tracing.endpoints.tempo_http, otlp_grpc=tracing.endpoints.otlp_grpc,
            otlp_http=tracing.endpoints.otlp_http, engines=engines,
            langfuse=observer.endpoints.web if observer else None,
            litellm=proxy.endpoint if proxy else None,
        ),
    ),
    # Routes are custom resources of the Gateway API CRDs that IstioMesh installs; grants go into its
    # namespaces and the AuthorizationPolicy passes istiod's webhook: wait for the whole mesh.
    # With HTTPS, its Certificate and ClusterIssuer need cert-manager's CRDs and webhook.
    pulumi.ResourceOptions(
        providers={"kubernetes": provider},
        depends_on=[
            mesh, mesh.gateway_api_crds, *([cert_manager] if cert_manager and cfg.gateway.https.enabled else [])
        ],
    ),
)

# NetworkPolicies: default-deny everywhere, then one allow per edge of the wiring above.
platform_namespaces = [mesh.istio_namespace, *(mesh.namespace(key) for key in mesh.namespaces)]
platform_namespaces += [cert_manager.namespace] if cert_manager else []
platform_namespaces += [observer.operator_namespace] if observer else []
platform_namespaces += [scaler.namespace] if scaler and scaler.namespace else []
edges = platform_edges(
    Wiring(
        istio=mesh.istio_namespace.name, tracing=tracing.endpoints, collector_metrics=tracing.metrics,
        monitoring=monitoring.endpoints, gateway_ports=routes.listener_ports, routed=routes.routed,
        engines=tuple(engines), injected=mesh.injected, namespaces=tuple(ns.name for ns in platform_namespaces),
        logging=logging_endpoints if cfg.logging.enabled else None,
        langfuse=observer.endpoints.web if observer else None, litellm=proxy.endpoint if proxy else None,
        dcgm=gpu.exporter if gpu else None, cert_manager=cert_manager.namespace.name if cert_manager else None,
        clickhouse_operator=observer.operator_namespace.name if observer else None,
        keda=scaler.namespace.name if scaler and scaler.namespace else None,
        model_downloads=any(e.engine != "mock" for e in engines),
        alertmanager_webhook=cfg.monitoring.alertmanager.receiver != "none",
    )
)
NetworkPolicies("network", NetworkPoliciesArgs(namespaces=platform_namespaces, edges=edges), on_cluster)
# mTLS from the same edges: STRICT wherever every client has a sidecar, port exceptions where not.
MeshMtls(
    "mesh-mtls",
    MeshMtlsArgs(
        namespaces={key: mesh.namespace(key) for key in mesh.namespaces if key not in NEVER_INJECTED},
        injected=mesh.injected, edges=edges, overrides={str(k): v for k, v in cfg.istio.mtls.items()}, mesh=mesh,
    ),
    on_cluster,
)

if cfg.verification.enabled:
    checks = Verification(
        "verification",
        VerificationArgs(
            settings=cfg.verification, base_domain=cfg.gateway.base_domain, loki=cfg.logging.enabled,
            address=routes.address, hostnames=routes.hostnames, https_port=routes.https_port,
            targets=scrape_targets(
                engines, tracing.endpoints.otlp_grpc, tracing.endpoints.tempo_http, gpu=cfg.gpu.enabled
            ),
            grafana_admin_password=monitoring.grafana_admin_password,
            litellm_master_key=proxy.master_key if proxy else None,
            otlp_token=tracing.endpoints.auth.token if tracing.endpoints.auth else None,
        ),
        # Last: the checks reach every component through the gateway, on a host that is fully ready.
        pulumi.ResourceOptions(
            depends_on=[
                c
                for c in (host, mesh, cert_manager, monitoring, observer, tracing, gpu, proxy, routes)
                if c is not None
            ]
        ),
    )
    pulumi.export("verifyCommand", checks.command_line)

pulumi.export("hostnames", routes.hostnames)
pulumi.export("etcHostsLine", routes.etc_hosts_line)
pulumi.export("gatewayAddress", routes.address)
# OTLP for both kinds of app: on the host through the Gateway's listeners, in the cluster to the
# collector's Service; with OTLP auth both carry the token (and are secret). otlp*Endpoint and
# appOtelEnvironment keep their in-cluster meaning (compatibility).
pulumi.export("hostOtelEnvironment", with_otlp_auth(routes.host_otel_environment("my-llm-app"), tracing.endpoints.auth))
pulumi.export("hostOtlpGrpcEndpoint", routes.otlp_grpc_url)
pulumi.export("hostOtlpHttpEndpoint", routes.otlp_http_url)
pulumi.export("clusterOtelEnvironment", tracing.app_environment("my-llm-app"))
pulumi.export("otlpGrpcEndpoint", tracing.endpoints.otlp_grpc.url())
pulumi.export("otlpHttpEndpoint", tracing.endpoints.otlp_http.url())
pulumi.export("appOtelEnvironment", tracing.app_environment("my-llm-app"))
pulumi.export("grafanaAdminPassword", monitoring.grafana_admin_password)
pulumi.export("engines", {e.engine: e.service.url(path="/v1") for e in engines})
if tracing.endpoints.auth:
    pulumi.export("otlpBearerToken", tracing.endpoints.auth.token)
if proxy:
    pulumi.export("litellmMasterKey", proxy.master_key)
    pulumi.export("litellmUrl", proxy.endpoint.url(path="/v1"))
if observer:
    pulumi.export("langfuseAdmin", observer.admin_credentials)

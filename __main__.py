"""llm-tracing-infra: an LLM serving and observability platform on Kubernetes, in one `pulumi up`.

Reads like the architecture: configuration in, components wired from each other's outputs,
outputs exported. Order comes from data (namespaces, endpoints) and, where no data flows,
from explicit dependencies with a comment saying why.
"""

import pulumi
import pulumi_kubernetes as k8s

import config
from components import gateway_routes, logging_stack, serving, tracing_pipeline
from components.dcgm import Dcgm, DcgmArgs
from components.gateway_routes import GatewayRoutes, GatewayRoutesArgs
from components.istio_mesh import IstioMesh, IstioMeshArgs
from components.k3s_host import K3sHost, K3sHostArgs
from components.langfuse import Langfuse, LangfuseArgs
from components.litellm import LiteLlm, LiteLlmArgs
from components.logging_stack import LoggingStack, LoggingStackArgs
from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from components.tracing_pipeline import TracingPipeline, TracingPipelineArgs
from components.verification import Verification, VerificationArgs, scrape_targets

# Configuration: validated as a whole before any resource is registered.
cfg, secrets = config.load()

# The cluster: k3s installed on the stack's host (k3s.host), else an existing one (kubeconfig/context).
host = K3sHost("host", K3sHostArgs(config=cfg, secrets=secrets)) if cfg.k3s.host else None
# What `pulumi destroy` retains (data namespaces, volumes, credentials) is adopted by the next `up`
# instead of failing with AlreadyExists (upsert, off by default since pulumi-kubernetes 4.29).
adopt_retained = cfg.storage.retain_on_destroy
if host:
    provider = k8s.Provider("k8s", kubeconfig=host.kubeconfig, upsert_existing_objects=adopt_retained)
else:
    provider = k8s.Provider(
        "k8s", kubeconfig=cfg.kubernetes.kubeconfig, context=cfg.kubernetes.context,
        upsert_existing_objects=adopt_retained,
    )
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=[host.ready] if host else None)

# Endpoints each component will serve, known before it exists: peers wire to these, never to
# retyped names, and the wiring checks prove that each one is a Service the program creates.
tracing_endpoints = tracing_pipeline.endpoints(cfg)
logging_endpoints = logging_stack.endpoints(cfg)

# Mesh first: Gateway API CRDs -> istio base -> istiod, and the platform's namespaces.
mesh = IstioMesh("mesh", IstioMeshArgs(config=cfg, collector=tracing_endpoints.otlp_grpc), on_cluster)

def ready_in(namespace_key: str) -> pulumi.ResourceOptions:
    """Workloads in injected namespaces wait for istiod's injector; the others only for their namespace."""
    return pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=mesh.ready_for(namespace_key))


monitoring = MonitoringStack(
    "monitoring",
    MonitoringStackArgs(
        config=cfg, secrets=secrets, namespace=mesh.namespaces["monitoring"],
        tracing=tracing_endpoints, logging=logging_endpoints if cfg.logging.enabled else None,
    ),
    ready_in("monitoring"),
)
# Langfuse before the pipeline: the collector may export LLM spans to it with its project keys.
observer = None
if cfg.langfuse.enabled:
    observer = Langfuse(
        "langfuse",
        LangfuseArgs(config=cfg, namespace=mesh.namespaces["langfuse"],
                     credential_seed=secrets.get("langfuseCredentialSeed")),
        ready_in("langfuse"),
    )
tracing = TracingPipeline(
    "tracing",
    TracingPipelineArgs(
        config=cfg, namespace=mesh.namespaces["tracing"], prometheus=monitoring.endpoints.prometheus,
        monitoring_crds=monitoring.crds,
        langfuse=observer.connection if observer and cfg.tracing.collector.export_to_langfuse else None,
    ),
    ready_in("tracing"),
)
if cfg.logging.enabled:
    LoggingStack("logging", LoggingStackArgs(config=cfg, namespace=mesh.namespaces["logging"]), ready_in("logging"))

gpu = None
if cfg.gpu.enabled:
    gpu = Dcgm("gpu", DcgmArgs(config=cfg, namespace=mesh.namespaces["gpu"], monitoring_crds=monitoring.crds),
               on_cluster)
engines = serving.deploy(cfg, secrets, namespace=mesh.namespaces["llm"], tracing=tracing.endpoints,
                         monitoring_crds=monitoring.crds, gpu=gpu, opts=ready_in("llm"))

proxy = None
if cfg.litellm.enabled:
    proxy = LiteLlm(
        "litellm",
        LiteLlmArgs(
            config=cfg, secrets=secrets, namespace=mesh.namespaces["litellm"], engines=engines,
            tracing=tracing.endpoints, langfuse=observer.connection if observer else None,
            monitoring_crds=monitoring.crds,
        ),
        ready_in("litellm"),
    )

routes = GatewayRoutes(
    "gateway",
    GatewayRoutesArgs(
        config=cfg,
        backends=gateway_routes.Backends(
            grafana=monitoring.endpoints.grafana, prometheus=monitoring.endpoints.prometheus,
            tempo=tracing.endpoints.tempo_http, otlp_grpc=tracing.endpoints.otlp_grpc,
            otlp_http=tracing.endpoints.otlp_http, engines=engines,
            langfuse=observer.endpoints.web if observer else None,
            litellm=proxy.endpoint if proxy else None,
        ),
    ),
    # Routes are custom resources of the Gateway API CRDs that IstioMesh installs; grants go into its
    # namespaces and the AuthorizationPolicy passes istiod's webhook: wait for the whole mesh.
    # With HTTPS, its Certificate needs the cert-manager that Langfuse installs.
    pulumi.ResourceOptions(
        providers={"kubernetes": provider},
        depends_on=[mesh, mesh.gateway_api_crds, *([observer] if observer and cfg.gateway.https.enabled else [])],
    ),
)

if cfg.verification.enabled:
    checks = Verification(
        "verification",
        VerificationArgs(
            config=cfg, address=routes.address, hostnames=routes.hostnames,
            targets=scrape_targets(cfg, engines, tracing.endpoints.otlp_grpc, tracing.endpoints.tempo_http),
            grafana_admin_password=monitoring.grafana_admin_password,
            litellm_master_key=proxy.master_key if proxy else None,
        ),
        # Last: the checks reach every component through the gateway, on a host that is fully ready.
        pulumi.ResourceOptions(
            depends_on=[c for c in (host, mesh, monitoring, observer, tracing, gpu, proxy, routes) if c is not None]
        ),
    )
    pulumi.export("verifyCommand", checks.command_line)

pulumi.export("hostnames", routes.hostnames)
pulumi.export("etcHostsLine", routes.etc_hosts_line)
pulumi.export("gatewayAddress", routes.address)
pulumi.export("otlpGrpcEndpoint", tracing.endpoints.otlp_grpc.url())
pulumi.export("otlpHttpEndpoint", tracing.endpoints.otlp_http.url())
pulumi.export("appOtelEnvironment", tracing.app_environment("my-llm-app"))
pulumi.export("grafanaAdminPassword", monitoring.grafana_admin_password)
pulumi.export("engines", {e.engine: e.service.url(path="/v1") for e in engines})
if proxy:
    pulumi.export("litellmMasterKey", proxy.master_key)
    pulumi.export("litellmUrl", proxy.endpoint.url(path="/v1"))
if observer:
    pulumi.export("langfuseAdmin", observer.admin_credentials)

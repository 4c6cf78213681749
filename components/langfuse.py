"""Langfuse: LLM observability (traces, prompts, evaluations) from its chart 2.x, headless.

Chart 2.x dropped the bundled Bitnami databases: Postgres (groundhog2k), Valkey and SeaweedFS
are subcharts, and ClickHouse comes from ClickHouse's own operator as ClickHouseCluster and
KeeperCluster resources. So this component installs, in order:

1. the ClickHouse operator chart, which brings the ``clickhouse.com/v1alpha1`` CRDs, after
   cert-manager (the ``CertManager`` component: the operator's admission webhook takes its
   certificate from it);
2. the Langfuse chart, with every credential in a Secret this program generated.

Why the program owns every credential: the chart would otherwise generate them at render time
(``randAlphaNum``), which under ``helm.v4.Chart`` means new values on every preview, and the
program needs the project API keys anyway (LiteLLM and the collector send to Langfuse).
Values carry Secret *names* only. Headless initialization (``LANGFUSE_INIT_*``) creates the
organization, project, API keys and admin user on first start, so there is no sign-up step.

Persistence on ``pulumi destroy`` (``storage.retainOnDestroy``): Postgres is a StatefulSet whose
claim template is kept (``persistentVolumeClaimRetentionPolicy.whenDeleted: Retain``); the Valkey
and SeaweedFS claims carry ``helm.sh/resource-policy: keep``, which ``helm.v4.Chart`` turns into
``retainOnDelete``; ClickHouse and Keeper volumes belong to StatefulSets the operator creates,
so Pulumi never deletes them (Kubernetes keeps claim-template volumes by default). The credential
Secrets are retained with them, because the data is useless without the same salt, encryption key
and database passwords: to reattach retained data to a new stack, import those Secrets' values
into the new stack's state first, or a fresh ``pulumi up`` overwrites them with new random ones.

Two chart behaviours ``helm.v4.Chart`` changes, and how they are handled: it renders without
hooks, so SeaweedFS's bucket-creating post-install hook never runs (a Job here creates the
bucket instead); and it checks ``Capabilities`` against the live cluster, where the operator's
CRDs do not exist yet at preview, so the chart's CRD guard is off and ``depends_on`` orders it.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components import pod_security
from components._k8s import NO_SIDECAR_LABELS, TOKEN_PREFIX, labels, restricted_security_context
from components._secrets import CredentialSeed, generated_secret
from components.charts import helm_chart
from components.contracts import LangfuseConnection, LangfuseEndpoints, NamespaceRef, ServiceRef
from config.sections import Charts, GeneratedSecrets
from config.sections import Langfuse as LangfuseSettings
from config.types import resources

FULLNAME = "langfuse"
"""Chart ``fullnameOverride``: the web Service is ``langfuse-web``."""
S3_USER = "langfuse"
"""SeaweedFS access key id (a user name, not a secret)."""
S3_BUCKET = "langfuse"
"""The chart's default bucket for events, exports and media."""
INIT_USER_NAME = "admin"

# Names of the Secrets this component creates; the chart is given only these names.
APP_SECRET = f"{FULLNAME}-app-credentials"
POSTGRES_SECRET = f"{FULLNAME}-postgresql-credentials"
REDIS_SECRET = f"{FULLNAME}-redis-credentials"
CLICKHOUSE_SECRET = f"{FULLNAME}-clickhouse-credentials"
S3_SECRET = f"{FULLNAME}-s3-credentials"
INIT_SECRET = f"{FULLNAME}-init-credentials"
SECRET_LAYOUT: dict[str, tuple[str, ...]] = {
    APP_SECRET: ("salt", "encryption-key", "nextauth-secret"),
    # Keys the Postgres subchart reads; Langfuse itself reads USERDB_PASSWORD.
    POSTGRES_SECRET: ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "USERDB_USER", "USERDB_PASSWORD"),
    # Valkey ACL users: one key per user name.
    REDIS_SECRET: ("default",),
    CLICKHOUSE_SECRET: ("password",),
    S3_SECRET: ("accessKey", "secretKey", "seaweedfs_s3_config"),
    INIT_SECRET: (
        "LANGFUSE_INIT_PROJECT_PUBLIC_KEY",
        "LANGFUSE_INIT_PROJECT_SECRET_KEY",
        "LANGFUSE_INIT_USER_PASSWORD",
    ),
}
"""Every Secret this component creates and its keys; the chart values may reference only these."""


def endpoints(namespace: str) -> LangfuseEndpoints:
    return LangfuseEndpoints(web=ServiceRef(f"{FULLNAME}-web", namespace, 3000, "http"))


class LangfuseArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: LangfuseSettings
    namespace: NamespaceRef
    chart: versions.ChartPin
    operator_chart: versions.ChartPin
    """The ClickHouse operator's chart."""
    cert_manager: pulumi.Resource | None = None
    """cert-manager's chart (``CertManager.chart``); None when the cluster runs its own."""
    charts: Charts
    """Where charts come from (``charts`` section)."""
    curl_image: str
    """Image of the bucket-creating Job."""
    public_url: str
    """Where users reach the UI through the gateway (NextAuth's canonical URL)."""
    retain: bool
    """Data volumes and credential Secrets outlive `pulumi destroy` (``storage.retainOnDestroy``)."""
    generated_secrets: GeneratedSecrets
    credential_seed: pulumi.Output[str] | None = None
    """``langfuseCredentialSeed``: credentials derived from it survive `pulumi destroy` with the data."""


class Langfuse(pulumi.ComponentResource):
    endpoints: LangfuseEndpoints
    """Services of the Langfuse chart that peers and the gateway connect to."""
    operator_namespace: NamespaceRef
    """The ClickHouse operator's namespace (NetworkPolicies go there)."""
    connection: LangfuseConnection
    """Web endpoint plus the headless-initialized project's API keys (secret)."""
    admin_credentials: pulumi.Output[dict[str, str]]
    """Initial admin e-mail, password and URL (secret)."""

    def __init__(self, name: str, args: LangfuseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:langfuse:Langfuse", name, None, opts)
        lf = args.settings
        self.endpoints = endpoints(args.namespace.name)
        child = pulumi.ResourceOptions(parent=self)
        if args.retain and args.credential_seed is None:
            pulumi.log.warn(
                "langfuse: storage.retainOnDestroy keeps Langfuse's volumes and credentials, but without the "
                "langfuseCredentialSeed secret a `pulumi up` after `pulumi destroy` generates new credentials and "
                "stops on a server-side apply conflict with the retained ones (nothing is overwritten). Set it once: "
                "pulumi config set --secret langfuseCredentialSeed $(openssl rand -hex 32)"
            )

        seed = None
        if args.credential_seed is not None:
            seed = CredentialSeed(
                args.credential_seed, lf.credential_derivation, project=pulumi.get_project(), stack=pulumi.get_stack()
            )

        def secret(suffix: str, **kwargs: Any) -> pulumi.Output[str]:
            return generated_secret(f"{name}-{suffix}", args.generated_secrets, opts=child, seed=seed, **kwargs)

        public_key = secret("project-public-key", alphabet="hex", prefix="pk-lf-")
        secret_key = secret("project-secret-key", alphabet="hex", prefix="sk-lf-")
        admin_password = secret("admin-password", length=24)
        s3_password = secret("s3-password", length=40)
        credentials = {
            APP_SECRET: {
                "salt": secret("salt"),
                "encryption-key": secret("encryption-key", length=64, alphabet="hex"),
                "nextauth-secret": secret("nextauth-secret"),
            },
            POSTGRES_SECRET: {
                "POSTGRES_USER": pulumi.Output.from_input("postgres"),
                "POSTGRES_PASSWORD": secret("postgres-superuser-password", length=40),
                "POSTGRES_DB": pulumi.Output.from_input("langfuse"),
                "USERDB_USER": pulumi.Output.from_input("langfuse"),
                "USERDB_PASSWORD": secret("postgres-password", length=40),
            },
            REDIS_SECRET: {"default": secret("redis-password", length=40)},
            CLICKHOUSE_SECRET: {"password": secret("clickhouse-password", length=40)},
            S3_SECRET: {
                "accessKey": pulumi.Output.from_input(S3_USER),
                "secretKey": s3_password,
                "seaweedfs_s3_config": s3_password.apply(seaweedfs_iam_config),
            },
            INIT_SECRET: {
                "LANGFUSE_INIT_PROJECT_PUBLIC_KEY": public_key,
                "LANGFUSE_INIT_PROJECT_SECRET_KEY": secret_key,
                "LANGFUSE_INIT_USER_PASSWORD": admin_password,
            },
        }
        if {n: tuple(data) for n, data in credentials.items()} != SECRET_LAYOUT:
            raise AssertionError("Langfuse credentials drifted from SECRET_LAYOUT")
        stored = [
            k8s.core.v1.Secret(
                f"{name}-{secret_name.removeprefix(f'{FULLNAME}-')}",
                metadata={
                    "name": secret_name,
                    "namespace": args.namespace.output,
                    "labels": labels("langfuse", "credentials"),
                },
                type="Opaque",
                string_data={key: pulumi.Output.secret(value) for key, value in data.items()},  # type: ignore[arg-type]  # pulumi-kubernetes overloads vs manifest-style dicts
                # Retained with the volumes: losing the salt or encryption key makes stored data unreadable.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain),
            )
            for secret_name, data in credentials.items()
        ]

        operator = self._clickhouse_operator(name, args)
        release = f"{name}-chart"
        chart = helm_chart(
            release,
            args.chart,
            args.charts,
            namespace=args.namespace.output,
            values=langfuse_values(lf, public_url=args.public_url, retain=args.retain),
            # The ClickHouse CRs need the operator's CRDs and webhook; the pods need the Secrets.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[operator, *stored], transforms=[never_empty_chart_app_secret]
            ),
        )
        self._bucket_job(name, args.curl_image, args.namespace.output, release, chart)

        self.connection = LangfuseConnection(web=self.endpoints.web, public_key=public_key, secret_key=secret_key)
        self.admin_credentials = pulumi.Output.secret(
            admin_password.apply(
                lambda password: {"email": lf.admin_email, "password": password, "url": args.public_url}
            )
        )
        self.register_outputs({"web": self.endpoints.web.url()})

    def _clickhouse_operator(self, name: str, args: LangfuseArgs) -> pulumi.Resource:
        """The ClickHouse operator in its own namespace, after cert-manager (its webhook's certificate)."""
        lf = args.settings
        amounts = lf.operator_resources.as_k8s()
        op_ns = k8s.core.v1.Namespace(
            f"{name}-ns-clickhouse-operator",
            metadata={
                "name": lf.clickhouse_operator_namespace,
                "labels": {**labels("clickhouse-operator"), **pod_security.namespace_labels("clickhouse-operator")},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.operator_namespace = NamespaceRef(
            lf.clickhouse_operator_namespace, op_ns.metadata.apply(lambda m: m["name"])
        )
        pin = args.operator_chart
        return helm_chart(
            f"{name}-clickhouse-operator",
            pin,
            args.charts,
            namespace=op_ns.metadata.apply(lambda m: m["name"]),
            values={
                # The chart's values still name the previous release's image; pin it to the chart.
                "manager": {"image": {"tag": f"v{pin.version.lstrip('v')}"}, "resources": amounts},
                "certManager": {"enable": True, "install": False},
            },
            # The operator renders a cert-manager Certificate and Issuer for its webhook.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cert_manager] if args.cert_manager else []),
        )

    def _bucket_job(
        self, name: str, image: str, namespace: pulumi.Input[str], release: str, chart: pulumi.Resource
    ) -> k8s.batch.v1.Job:
        """Create the S3 bucket the SeaweedFS hook would have created (idempotent: 409 = exists)."""
        host = pulumi.Output.from_input(namespace).apply(lambda ns: f"{seaweedfs_service(release)}.{ns}.svc:8333")
        script = (
            "for i in $(seq 1 60); do "
            'code=$(curl -s -o /dev/null -w "%{http_code}" --aws-sigv4 "aws:amz:us-east-1:s3" '
            '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -X PUT "http://$S3_HOST/$BUCKET") || code=000; '
            'case "$code" in 200|409) echo "bucket $BUCKET ready ($code)"; exit 0;; esac; '
            'echo "attempt $i: HTTP $code"; sleep 5; done; exit 1'
        )
        env: list[dict[str, Any]] = [{"name": "S3_HOST", "value": host}, {"name": "BUCKET", "value": S3_BUCKET}]
        env += [
            {"name": var, "valueFrom": {"secretKeyRef": {"name": S3_SECRET, "key": key}}}
            for var, key in (("AWS_ACCESS_KEY_ID", "accessKey"), ("AWS_SECRET_ACCESS_KEY", "secretKey"))
        ]
        return k8s.batch.v1.Job(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
            f"{name}-s3-bucket",
            metadata={"name": f"{FULLNAME}-s3-bucket", "namespace": namespace, "labels": labels("langfuse", "setup")},
            spec={
                "backoffLimit": 4,
                "activeDeadlineSeconds": 1200,
                "template": {
                    "metadata": {"labels": {**labels("langfuse", "setup"), **NO_SIDECAR_LABELS}},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [
                            {
                                "name": "create-bucket",
                                "image": image,
                                "command": ["/bin/sh", "-c", script],
                                "env": env,
                                "resources": resources("10m", "16Mi", "100m", "64Mi").as_k8s(),
                                "securityContext": restricted_security_context(),
                            }
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[chart]),
        )


def public_url(*, https: bool, base_domain: str) -> str:
    """Where users reach the UI through the gateway (NextAuth's canonical URL)."""
    scheme = "https" if https else "http"
    return f"{scheme}://langfuse.{base_domain}"


def seaweedfs_service(release: str) -> str:
    """The SeaweedFS all-in-one Service, named like the chart's ``langfuse.s3.endpoint`` helper."""
    fullname = release if "s3" in release else f"{release}-s3"
    return f"{fullname[:52].rstrip('-')}-all-in-one"


def seaweedfs_iam_config(password: str) -> str:
    """SeaweedFS's S3 identities file: one admin identity for Langfuse."""
    identity = {
        "name": S3_USER,
        "credentials": [{"accessKey": S3_USER, "secretKey": password}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    return json.dumps({"identities": [identity]})


def _init_env(lf: LangfuseSettings) -> list[dict[str, Any]]:
    """Headless initialization: organization, project, API keys and admin user on first start."""
    plain = {
        "LANGFUSE_INIT_ORG_ID": _slug(lf.organization),
        "LANGFUSE_INIT_ORG_NAME": lf.organization,
        "LANGFUSE_INIT_PROJECT_ID": _slug(lf.project),
        "LANGFUSE_INIT_PROJECT_NAME": lf.project,
        "LANGFUSE_INIT_USER_EMAIL": lf.admin_email,
        "LANGFUSE_INIT_USER_NAME": INIT_USER_NAME,
    }
    return [{"name": k, "value": v} for k, v in plain.items()] + [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": INIT_SECRET, "key": k}}} for k in SECRET_LAYOUT[INIT_SECRET]
    ]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


CHART_APP_SECRET = f"{FULLNAME}-app"
"""The Secret the chart renders for credentials it generates; with all three given, it is empty."""


def never_empty_chart_app_secret(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Give the chart's app Secret one harmless key when it would be empty.

    Every app credential comes from our own Secret, so the chart renders its ``<fullname>-app``
    Secret with no data; the API server stores no ``data`` field, and on the next render the
    chart's ``lookup`` of that Secret fails (``index $existing.data`` of nil), so every `pulumi
    preview` after the first `up` errors (langfuse 2.0.0, caught by the lab). A note key keeps
    ``data`` present; the chart copies no value from it and the pods never read it.
    """
    if args.type_ != "kubernetes:core/v1:Secret":
        return None
    metadata = args.props.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None  # chart children carry plain values
    if name != CHART_APP_SECRET or args.props.get("data") or args.props.get("stringData"):
        return None
    note = {"note": f"unused: the credentials live in {APP_SECRET}"}
    return pulumi.ResourceTransformResult({**args.props, "stringData": note}, args.opts)


def langfuse_values(lf: LangfuseSettings, *, public_url: str, retain: bool) -> dict[str, Any]:
    """Chart values: Secret names and sizes only, never a credential."""
    keep = {"helm.sh/resource-policy": "keep"} if retain else {}

    def ref(secret_name: str, key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": secret_name, "key": key}}

    return {
        "fullnameOverride": FULLNAME,
        "langfuse": {
            "salt": ref(APP_SECRET, "salt"),
            "encryptionKey": ref(APP_SECRET, "encryption-key"),
            "nextauth": {"url": public_url, "secret": ref(APP_SECRET, "nextauth-secret")},
            # Accounts come from headless init; usage statistics stay in the cluster.
            "features": {"telemetryEnabled": False, "signUpDisabled": True},
            "image": {"pullPolicy": "IfNotPresent"},
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "web": {"resources": lf.web_resources.as_k8s(), "pod": {"additionalEnv": _init_env(lf)}},
            "worker": {"resources": lf.worker_resources.as_k8s()},
        },
        "postgresql": {
            "auth": {
                "existingSecret": POSTGRES_SECRET,
                "secretKeys": {"userPasswordKey": "USERDB_PASSWORD", "adminPasswordKey": "POSTGRES_PASSWORD"},
            },
            "settings": {"existingSecret": POSTGRES_SECRET},
            "userDatabase": {"existingSecret": POSTGRES_SECRET},
            "storage": {
                "requestedSize": lf.postgres_storage_size,
                "persistentVolumeClaimRetentionPolicy": {
                    "whenDeleted": "Retain" if retain else "Delete",
                    "whenScaled": "Retain",
                },
            },
            "resources": lf.postgres_resources.as_k8s(),
        },
        "redis": {
            "auth": {
                "existingSecret": REDIS_SECRET,
                "existingSecretPasswordKey": "default",
                "usersExistingSecret": REDIS_SECRET,
            },
            "dataStorage": {"requestedSize": lf.redis_storage_size, "keepPvc": retain},
            "resources": lf.redis_resources.as_k8s(),
        },
        "clickhouse": {
            # The chart's CRD guard reads the live cluster, where the operator's CRDs appear only
            # after it is installed; depends_on orders the two instead.
            "crdCheck": False,
            "auth": {"existingSecret": CLICKHOUSE_SECRET, "existingSecretKey": "password"},
            "cluster": {
                "replicas": 1,
                "storage": {"size": lf.clickhouse_storage_size},
                "resources": lf.clickhouse_resources.as_k8s(),
            },
            "keeper": {
                "replicas": lf.keeper_replicas,
                "storage": {"size": lf.keeper_storage_size},
                "resources": lf.keeper_resources.as_k8s(),
            },
        },
        "s3": {
            "auth": {
                "existingSecret": S3_SECRET,
                "rootUserSecretKey": "accessKey",
                "rootPasswordSecretKey": "secretKey",
            },
            "allInOne": {
                "s3": {"existingConfigSecret": S3_SECRET},
                # ``annotations`` is the seaweedfs subchart's own key (allInOne.data.annotations).
                "data": {"size": lf.s3_storage_size, "annotations": keep},
                "resources": lf.s3_resources.as_k8s(),
            },
        },
    }

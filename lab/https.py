"""HTTPS on the Gateway as the API server stores it: pure functions over Gateway/HTTPRoute/cert-manager JSON.

With ``gateway.https.enabled`` port 80 may only answer with a redirect to HTTPS: every HTTPRoute
that attaches to a port-80 listener must do nothing but a ``RequestRedirect`` to ``https``. Which
routes attach is decided as the Gateway API does (a parentRef naming the Gateway, then its
``sectionName`` or ``port``, or neither: every listener), so a route that leaves out its
sectionName is caught too. The HTTPS listener must serve the Secret the Certificate writes, and
the Certificate must name an issuer that exists.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
PLAIN_PORT = 80


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name')}"


def attaches(route: Obj, gateway: Obj, listener: Obj) -> bool:
    """Whether ``route`` binds to ``listener`` of ``gateway`` (by its parentRefs)."""
    route_ns = route.get("metadata", {}).get("namespace")
    gw_meta = gateway.get("metadata") or {}
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        if (
            ref.get("kind", "Gateway") != "Gateway"
            or ref.get("group", "gateway.networking.k8s.io") != "gateway.networking.k8s.io"
        ):
            continue
        if ref.get("name") != gw_meta.get("name") or ref.get("namespace", route_ns) != gw_meta.get("namespace"):
            continue
        section, port = ref.get("sectionName"), ref.get("port")
        if (section is None or section == listener.get("name")) and (port is None or port == listener.get("port")):
            return True
    return False


def redirects_only(route: Obj) -> bool:
    """An HTTPRoute whose every rule only redirects to ``https`` (no backend, no other filter)."""
    rules = (route.get("spec") or {}).get("rules") or []
    return route.get("kind", "HTTPRoute") == "HTTPRoute" and bool(rules) and all(
        not rule.get("backendRefs")
        and [f.get("type") for f in rule.get("filters") or []] == ["RequestRedirect"]
        and (rule["filters"][0].get("requestRedirect") or {}).get("scheme") == "https"
        for rule in rules
    )


def plain_http_problems(gateways: list[Obj], routes: list[Obj]) -> tuple[list[str], list[str]]:
    """(problems, redirect routes): what answers on port 80 other than a redirect to HTTPS."""
    problems, redirects = [], []
    plain = [
        (g, li) for g in gateways for li in (g.get("spec") or {}).get("listeners") or [] if li.get("port") == PLAIN_PORT
    ]
    if not plain:
        return [f"no Gateway listener on port {PLAIN_PORT}"], []
    for gateway, listener in plain:
        for route in routes:
            if not attaches(route, gateway, listener):
                continue
            where = f"{route.get('kind', 'HTTPRoute')} {_key(route)} on {_key(gateway)}:{listener.get('name')}"
            if redirects_only(route):
                redirects.append(where)
            else:
                problems.append(f"{where} serves plain HTTP")
    if not redirects and not problems:
        problems.append(f"nothing redirects port {PLAIN_PORT} to HTTPS")
    return problems, redirects


def tls_problems(
    gateways: list[Obj], certificates: list[Obj], issuers: list[Obj], wanted_issuers: set[str]
) -> list[str]:
    """An HTTPS listener on each Gateway serving the Secret a Certificate writes; the issuers it needs exist."""
    problems = []
    secrets = {(c["metadata"].get("namespace"), (c.get("spec") or {}).get("secretName")): c for c in certificates}
    issuer_names = {i["metadata"]["name"] for i in issuers}
    problems += [f"no ClusterIssuer {name}" for name in sorted(wanted_issuers - issuer_names)]
    for gateway in gateways:
        namespace = gateway["metadata"].get("namespace")
        tls = [li for li in gateway["spec"].get("listeners") or [] if li.get("protocol") == "HTTPS"]
        if not tls:
            problems.append(f"Gateway {_key(gateway)} has no HTTPS listener")
        for listener in tls:
            for ref in (listener.get("tls") or {}).get("certificateRefs") or []:
                certificate = secrets.get((ref.get("namespace", namespace), ref.get("name")))
                if certificate is None:
                    problems.append(
                        f"{_key(gateway)}:{listener.get('name')} serves Secret {ref.get('name')}, "
                        "which no Certificate writes"
                    )
                    continue
                issuer = ((certificate.get("spec") or {}).get("issuerRef") or {}).get("name")
                if issuer not in issuer_names:
                    problems.append(f"Certificate {_key(certificate)} names issuer {issuer}, which does not exist")
    return problems

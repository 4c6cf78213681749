"""HTTP(S) to the gateway's address with the Host header of a route (standard library only).

Requests go to the gateway IP, not to DNS names, so checks work before anyone edits
``/etc/hosts``; redirects are not followed, so a route's own answer is what gets judged.
Over TLS the route's hostname goes in SNI (the gateway picks its certificate and listener by
it); the certificate is not verified: a self-signed or Let's Encrypt staging one is expected,
and what is judged is the route behind it, not the chain of trust.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body.decode() or "null")

    def text(self, limit: int = 200) -> str:
        """The body for a report line: one line, cut at ``limit`` characters."""
        flat = " ".join(self.body.decode(errors="replace").split())
        return flat if len(flat) <= limit else flat[:limit] + "..."


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def authority(address: str, port: int) -> str:
    """``host:port`` for a connection, IPv6 literals in brackets."""
    host = f"[{address}]" if ":" in address and not address.startswith("[") else address
    return f"{host}:{port}"


class _SniConnection(http.client.HTTPSConnection):
    """HTTPS to an address, naming ``server_name`` in SNI rather than the address."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)  # type: ignore[attr-defined]


class Gateway:
    """One listener of the gateway: ``address:port``, any Host behind it; ``tls`` for the HTTPS one."""

    def __init__(self, address: str, port: int, timeout: float, *, tls: bool = False) -> None:
        self.address, self.port, self.timeout, self.tls = address.strip("[]"), port, timeout, tls

    def url(self, host: str, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://{authority(self.address, self.port)}{path} (Host: {host})"

    def request(
        self,
        method: str,
        host: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request; raises ``OSError`` when the gateway cannot be reached."""
        connection = (_SniConnection(self.address, self.port, host.split(":")[0], self.timeout) if self.tls
                      else http.client.HTTPConnection(self.address, self.port, timeout=self.timeout))
        try:
            connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            response = connection.getresponse()
            return Response(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
        except http.client.HTTPException as exc:
            raise OSError(f"bad HTTP answer: {exc!r}") from exc
        finally:
            connection.close()

    def json_request(
        self, method: str, host: str, path: str, payload: Any, headers: dict[str, str] | None = None
    ) -> Response:
        return self.request(
            method, host, path, body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

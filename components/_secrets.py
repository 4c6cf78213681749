"""Generated secrets: passwords and keys the platform makes for itself, kept in Pulumi state.

By default they come from ``pulumi_random.RandomPassword``. Where the random provider plugin
cannot be installed (air-gapped CLIs, the lab's offline toolchain), ``generatedSecrets.provider:
command`` makes them with ``pulumi_command.local.Command`` instead: the command runs once at
create, its stdout is stored in state and marked secret (and never logged), so a re-run changes nothing.
Either way the value is a secret Output and is never written into a manifest.

Given a ``seed`` (a config secret, see ``CredentialSeed``), the value is derived from it instead
(HMAC-SHA256): no resource, the same value on every `pulumi up`, even after `pulumi destroy`
dropped the state. That is what lets retained data (Langfuse) be opened again by the next `up`.
Derivation ``v2`` keys the HMAC message by project, stack and purpose, so one seed reused across
stacks or projects gives unrelated credentials; ``v1`` (the message was the resource name alone)
stays for stacks whose retained data was encrypted with it (README: upgrade notes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import string
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_command as command
import pulumi_random as random

from config.sections import GeneratedSecrets

Derivation = Literal["v1", "v2"]


@dataclass(frozen=True)
class CredentialSeed:
    """A seed secret and what separates the credentials derived from it."""

    value: pulumi.Output[str]
    """The seed (``langfuseCredentialSeed``), a secret Output."""
    version: Derivation
    """``langfuse.credentialDerivation``: v2 (project, stack, purpose) or v1 (purpose only, before v2)."""
    project: str
    stack: str

    def message(self, purpose: str) -> str:
        """The HMAC message of ``purpose`` (a credential's resource name, e.g. ``langfuse-salt``)."""
        if self.version == "v1":
            return purpose
        return json.dumps(["llm-tracing-infra credential", "v2", self.project, self.stack, purpose])


_ALPHABET = {
    "alnum": "string.ascii_letters + string.digits",
    "hex": "'0123456789abcdef'",
}


def generated_secret(
    name: str,
    settings: GeneratedSecrets,
    *,
    length: int = 32,
    alphabet: str = "alnum",
    prefix: str = "",
    opts: pulumi.ResourceOptions,
    seed: CredentialSeed | None = None,
) -> pulumi.Output[str]:
    """A random secret of ``length`` characters from ``alphabet`` ("alnum" or "hex"), with ``prefix``."""
    if seed is not None:
        message = seed.message(name)
        return pulumi.Output.secret(seed.value.apply(lambda s: prefix + derived(s, message, length, alphabet)))
    if settings.provider == "command":
        chars = _ALPHABET[alphabet]
        script = (
            "import secrets, string; "
            f"print({prefix!r} + ''.join(secrets.choice({chars}) for _ in range({length})), end='')"
        )
        # stdout is the secret: kept out of the engine's log (stderr still explains a failure) and
        # marked secret in state.
        generated = command.local.Command(
            name,
            create=f'python3 -c "{script}"',
            logging=command.local.Logging.STDERR,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["stdout"])),
        )
        return pulumi.Output.secret(generated.stdout.apply(str))
    if alphabet == "hex":
        # RandomPassword has no hex alphabet: RandomId gives length/2 random bytes as hex.
        hex_id = random.RandomId(name, byte_length=length // 2, opts=opts)
        return pulumi.Output.secret(hex_id.hex.apply(lambda h: prefix + h))
    password = random.RandomPassword(
        name, length=length, special=False, upper=True, lower=True, numeric=True, opts=opts
    )
    return pulumi.Output.secret(password.result.apply(lambda r: prefix + r))


_CHARS = {"alnum": string.ascii_letters + string.digits, "hex": "0123456789abcdef"}


def derived(seed: str, message: str, length: int, alphabet: str) -> str:
    """``length`` characters of ``alphabet`` from HMAC-SHA256(seed, message/counter), without modulo bias."""
    chars = _CHARS[alphabet]
    limit = 256 - 256 % len(chars)  # bytes at or above this would favour the first characters
    out: list[str] = []
    counter = 0
    while len(out) < length:
        block = hmac.new(seed.encode(), f"{message}/{counter}".encode(), hashlib.sha256).digest()
        out += [chars[b % len(chars)] for b in block if b < limit]
        counter += 1
    return "".join(out[:length])

"""A container's command line as the kubelet and the shell would run it.

Kubernetes expands ``$(VAR)`` in ``command``/``args`` from the container's ``env`` (``$$`` escapes;
an undefined reference stays as written). A shell started with ``sh -c`` then expands ``${VAR}`` and
``$VAR`` itself, from the same environment. A reference whose value cannot be known here (``valueFrom``,
undefined) becomes ``UNRESOLVED``-prefixed, so a rule can fail closed on it instead of guessing.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from llm_policies._util import as_dict, as_list

UNRESOLVED = "<unresolved:"
_K8S_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_SHELL_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
SHELLS = ("sh", "bash", "ash", "dash", "zsh")


def env_values(container: dict[str, Any]) -> dict[str, str | None]:
    """Name -> literal value of each env entry; None when it comes from ``valueFrom`` (known only at runtime)."""
    found: dict[str, str | None] = {}
    for entry in map(as_dict, as_list(container.get("env"))):
        name = entry.get("name")
        if isinstance(name, str):
            value = entry.get("value")
            found[name] = str(value) if value is not None and "valueFrom" not in entry else None
    return found


def expand_kubernetes(text: str, env: dict[str, str | None]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in env:
            return match.group(0)
        value = env[name]
        return value if value is not None else f"{UNRESOLVED}{name}>"

    return _K8S_REF.sub(replace, text)


def expand_shell(text: str, env: dict[str, str | None]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = env.get(name)
        if value is None and match.group(2) is not None:
            return match.group(2)  # ${VAR:-default}
        return value if value is not None else f"{UNRESOLVED}{name}>"

    return _SHELL_REF.sub(replace, text)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def normalize(token: str) -> str:
    """``--gpu_memory_utilization=0.5`` -> ``--gpu-memory-utilization=0.5`` (vLLM accepts both spellings)."""
    if not token.startswith("--"):
        return token
    flag, sep, value = token.partition("=")
    return flag.replace("_", "-") + sep + value


def command_line(container: dict[str, Any]) -> list[str]:
    """Tokens of ``command`` + ``args`` after Kubernetes and shell expansion, flags normalized."""
    env = env_values(container)
    items = [expand_kubernetes(str(i), env) for i in as_list(container.get("command")) + as_list(container.get("args"))
             if isinstance(i, str | int | float)]
    tokens: list[str] = []
    shell = bool(items) and items[0].rsplit("/", 1)[-1] in SHELLS
    for item in items:
        # A shell script (after -c), or an item holding a whole command line: split it like the shell.
        # A multi-line item of a program that is not a shell is one argument (a PEM key, a config).
        tokens.extend(_split(expand_shell(item, env)) if shell else [item] if "\n" in item else _split(item))
    return [normalize(t) for t in tokens]


def flag_values(tokens: list[str], flag: str) -> list[str]:
    """Values given to ``flag`` as ``--flag=value`` or ``--flag value``."""
    values = []
    for index, token in enumerate(tokens):
        if token.startswith(flag + "="):
            values.append(token.split("=", 1)[1])
        elif token == flag:
            values.append(tokens[index + 1] if index + 1 < len(tokens) else "")
    return values


def starts_vllm(tokens: list[str]) -> bool:
    """``vllm serve``, ``python -m vllm.entrypoints...`` or a vLLM entrypoint module anywhere in the line."""
    for index, token in enumerate(tokens):
        base = token.rsplit("/", 1)[-1]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if base == "vllm" and following == "serve":
            return True
        if "vllm.entrypoints" in token or (token == "-m" and following.split(".")[0] == "vllm"):
            return True
    return False


def runs_vllm(container: dict[str, Any]) -> bool:
    image = container.get("image")
    return (isinstance(image, str) and "vllm" in image.lower()) or starts_vllm(command_line(container))

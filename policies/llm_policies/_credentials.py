"""Deciding, per key and per value, whether something is a credential written into the program.

Three questions, shared by the credential policies:

* is the *key* a credential's name (``adminPassword``, ``LANGFUSE_SALT``, ``OPENAI_API_KEY``), and not a
  reference to one (``existingSecret``, ``passwordKey``, ``secretName``)?
* is the *value* shaped like a credential (provider keys, JWTs, private keys, URLs with a password)?
* is the value a reference the runtime resolves (``$(VAR)``, ``${VAR}``, ``os.environ/X``) or a Pulumi
  secret (``[secret]`` offline)?

Under ``pulumi preview`` the engine hands policies Pulumi secrets as plaintext, so where a Pulumi
secret is acceptable (a Secret's data, an env value) a value can only be judged by its content there:
``human_shaped`` flags well-known defaults and word-like passwords (``hunter2``, ``supersecret123``),
not generated ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

PATTERNS: dict[str, re.Pattern[str]] = {
    "a Hugging Face token": re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"),
    "an OpenAI-style API key": re.compile(r"(?<![A-Za-z0-9_-])sk-(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])"
                                          r"[A-Za-z0-9_-]{20,}"),
    "a GitHub token": re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "an AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    "a Slack token": re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"),
    "a Slack webhook URL": re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}"),
    "a private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "a JSON Web Token": re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s/]+)@")
"""``scheme://user:password@``, found from the ``://``: a scheme pattern before it made every letter of a
long run a start that scanned to the run's end (20,000 letters took 3 s, and it grows as the square)."""
REFERENCE_VALUE = re.compile(r"^\s*(\$\(|\$\{|\$[A-Za-z_]|\$__(env|file)\{|os\.environ/|\{\{|env:|file:|vault:)")

CREDENTIAL_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "credentials", "credential", "passphrase")
CREDENTIAL_WORDS = frozenset({"pwd", "pass", "salt", "privatekey", "secretkey"})
CREDENTIAL_PAIRS = frozenset({
    ("api", "key"), ("private", "key"), ("secret", "key"), ("encryption", "key"),
    ("master", "key"), ("signing", "key"), ("client", "secret"), ("auth", "key"), ("license", "key"),
})
REFERENCE_WORDS = frozenset({
    "existing", "name", "names", "ref", "file", "path", "mount", "enabled", "create", "length", "policy", "type",
    "from", "location", "dir", "annotations", "labels", "env", "generate", "generated", "rotation", "header",
})
NAMING_WORDS = frozenset({"password", "passwd", "secret", "token", "user", "username", "salt"})
"""A credential word *before* the last one makes the key name a place (``rootPasswordSecretKey``)."""
PLACEHOLDERS = frozenset({"empty", "none", "null", "nil", "dummy", "unused", "not-needed", "not-used", "no-key", "-"})
"""What clients want as a key when a server needs none (``api_key: EMPTY`` for vLLM)."""
KNOWN_DEFAULTS = frozenset({
    "admin", "changeit", "change-me", "changeme", "letmein", "minio123", "minioadmin", "password", "postgres",
    "prom-operator", "root", "secret", "test", "123456",
})
_WORD_SHAPED = re.compile(r"^[A-Za-z]+(?:[-_.][A-Za-z]+)*[-_.]?[0-9]{0,6}[!@#$%&*?.]{0,3}$")
"""Words (``lf-typed-in-secret``), maybe a few digits and marks at the end (``supersecret123!``).
Written without a nested repeat: ``([A-Za-z]+[-_.]?)+`` backtracks exponentially on a run of letters
that fails to match at its end (24 letters and ``1a`` took 2.8 s; each letter more doubles it)."""
_LETTERS = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+(?:[A-Z][a-z]+)*")
_CAMEL_PIECE = re.compile(r"[A-Z]?[a-z]+")
_VOWEL = re.compile(r"[aeiouy]", re.IGNORECASE)
_FOUR_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xz]{4}", re.IGNORECASE)


def words(key: str) -> list[str]:
    """``adminPassword`` / ``ADMIN_PASSWORD`` / ``admin-password`` -> ``["admin", "password"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def is_credential_key(key: Any, allowed: frozenset[str] = frozenset()) -> bool:
    """A key or env name that names a credential (and not a reference to one)."""
    if not isinstance(key, str) or key in allowed:
        return False
    parts = words(key)
    if not parts or REFERENCE_WORDS.intersection(parts):
        return False
    last = parts[-1]
    if parts[-3:] == ["secret", "access", "key"]:  # secretAccessKey, AWS_SECRET_ACCESS_KEY
        return True
    tail = 2 if len(parts) >= 2 and (parts[-2], last) in CREDENTIAL_PAIRS else 1
    if NAMING_WORDS.intersection(parts[:-tail]) and len(parts) > 2:
        return False
    return tail == 2 or last.endswith(CREDENTIAL_ENDINGS) or last in CREDENTIAL_WORDS


_K8S_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+")


def names_a_secret(key: str, value: str) -> bool:
    """``webhookSecret: alertmanager-slack``: a key ending in "secret" whose value is a Secret's name."""
    parts = words(key)
    is_pair = len(parts) >= 2 and (parts[-2], parts[-1]) in CREDENTIAL_PAIRS
    return bool(parts) and parts[-1] == "secret" and not is_pair and bool(_K8S_NAME.fullmatch(value))


def credential_shape(text: str) -> str | None:
    """What kind of credential ``text`` contains, judged on the value alone."""
    for kind, pattern in PATTERNS.items():
        if pattern.search(text):
            return kind
    for found in URL_PASSWORD.finditer(text):  # every URL: a reference in the first hides no literal after it
        if not is_reference(found.group(1)) and found.group(1) not in ("[secret]", "*", "****"):
            return "a URL with a password in it"
    return None


def is_reference(value: Any) -> bool:
    """A value the runtime resolves from elsewhere (env expansion, a file, a template)."""
    return isinstance(value, str) and bool(REFERENCE_VALUE.match(value))


def _typed_letters(run: str) -> bool:
    """Letters as people type words: lower, UPPER or camelCase, pronounceable.

    Random letters that merely happen to carry no digit (a generated secret does, now and then) flip
    case at random, pile up consonants and make camel "words" of two letters without a vowel.
    """
    if _FOUR_CONSONANTS.search(run):
        return False
    if run.islower() or run.isupper():
        return True
    if not _CAMEL.fullmatch(run):
        return False
    pieces = _CAMEL_PIECE.findall(run)
    return len(run) >= 3.5 * len(pieces) - 1 and all(_VOWEL.search(p) for p in pieces if len(p) >= 2)


def human_shaped(value: str) -> bool:
    """A value a person typed (a default, or words with digits), not a generated secret.

    Word-shaped alone is not enough: about 1 in 55 random 24-character alphanumeric strings (1 in 14
    at 16) has its digits only at the end or none, and a generated credential judged weak blocks
    every preview of its stack. Judged on the letters too, a random string is taken for a typed one
    about 3.5 times in 10 million at 24 characters, and no word-shaped one of a million was at 32
    (``python -m bench.weak_secret_rate``).
    """
    text = value.strip()
    if text.lower() in KNOWN_DEFAULTS or len(text) < 8:
        return True
    return bool(_WORD_SHAPED.match(text)) and all(_typed_letters(run) for run in _LETTERS.findall(text))


def embedded_document(text: str) -> Any:
    """The mapping inside a config file held as a string (YAML or JSON), else None."""
    if "\n" not in text and not text.lstrip().startswith("{") and ": " not in text:
        return None
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return None
    return document if isinstance(document, dict | list) else None


def leaves(value: Any, path: str, key: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, nearest key, leaf) under ``value``, descending into config files held as strings."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from leaves(child, f"{path}.{child_key}" if path else str(child_key), str(child_key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, f"{path}[{index}]", key)
    elif isinstance(value, str) and (document := embedded_document(value)) is not None:
        yield from leaves(document, path, key)
    else:
        yield path, key, value


def plain_findings(value: Any, path: str, marker: str = "") -> Iterator[tuple[str, str]]:
    """(path, why) for credentials in a place that is stored and shown in clear (ConfigMap, values, annotations).

    Any non-empty value under a credential key counts, a Pulumi secret included (it is decrypted into
    the object); any value shaped like a credential counts under every key.
    """
    for where, key, leaf in leaves(value, path):
        if not isinstance(leaf, str) or leaf.strip().lower() in PLACEHOLDERS | {""} or is_reference(leaf):
            continue
        if names_a_secret(key, leaf):
            continue
        shape = credential_shape(leaf)
        if shape:
            yield where, f"holds what looks like {shape}"
        elif is_credential_key(key):
            secret = marker and leaf == marker
            yield where, "holds a Pulumi secret, decrypted into it in clear" if secret else "holds a literal credential"


def stored_findings(value: Any, path: str, marker: str = "", allowed: frozenset[str] = frozenset()) -> Iterator[
    tuple[str, str, str]
]:
    """(path, why) for credentials where a Pulumi secret is the right source (Secret data, env values).

    With ``marker`` (offline) everything but the marker is a literal; without it (``pulumi preview``,
    plaintext) only human-shaped values under credential keys can be told apart from generated ones.
    Yields (path, key, ``literal`` | ``default`` | ``weak``).
    """
    for where, key, leaf in leaves(value, path):
        if not isinstance(leaf, str) or leaf.strip().lower() in PLACEHOLDERS | {""} or is_reference(leaf):
            continue
        if marker and leaf == marker:
            continue
        if not is_credential_key(key, allowed) and not (marker and credential_shape(leaf)):
            continue
        if marker:
            yield where, key, "literal"
        elif leaf.strip().lower() in KNOWN_DEFAULTS:
            yield where, key, "default"
        elif human_shaped(leaf):
            yield where, key, "weak"

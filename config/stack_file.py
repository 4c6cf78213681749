"""Reading ``Pulumi.<stack>.yaml``: every YAML or shape error as a ConfigError naming file, line and column.

The Pulumi CLI parses the stack file itself; the offline preview reads it here, with the same strictness
(a duplicate key is an error, as in the CLI's YAML parser) and messages that say what is expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.loading import ConfigError
from config.rules import namespace_problem
from config.types import PROJECT

EXPECTED = f"a mapping such as\n      config:\n        {PROJECT}:engine: mock"


def _at(path: Path, mark: Any) -> str:
    return f"{path.name}:{mark.line + 1}:{mark.column + 1}"


def _check_duplicates(path: Path, node: yaml.Node, problems: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Any] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    problems.append(
                        f"{_at(path, key.start_mark)}: duplicate key {key.value!r} (first at line "
                        f"{seen[key.value].line + 1}); keep one of them"
                    )
                else:
                    seen[key.value] = key.start_mark
            _check_duplicates(path, value, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(path, item, problems)


def read_config(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file; ConfigError with file:line:column on any problem."""
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _at(path, mark) if mark else path.name
        problem = exc.problem or "invalid YAML"
        if "\\t" in problem or "tab" in problem:
            problem += " (indent with spaces, not tabs)"
        raise ConfigError([f"{where}: {problem}; expected {EXPECTED}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path.name}: {exc}; expected {EXPECTED}"]) from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError([f"{_at(path, root.start_mark)}: the file is a {_kind(root)}; expected {EXPECTED}"])
    problems: list[str] = []
    _check_duplicates(path, root, problems)
    config_node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "config"), None)
    if config_node is not None and not _is_null(config_node) and not isinstance(config_node, yaml.MappingNode):
        problems.append(f"{_at(path, config_node.start_mark)}: 'config' is a {_kind(config_node)}; expected {EXPECTED}")
    if problems:
        raise ConfigError(problems)
    document = yaml.safe_load(text) or {}
    raw = document.get("config") or {}
    for key in raw:
        if not isinstance(key, str):
            problems.append(f"{path.name}: config key {key!r} is not a string; expected 'namespace:key'")
        elif (foreign := namespace_problem(key)) is not None:
            problems.append(f"{path.name}: {foreign}")
    if problems:
        raise ConfigError(problems)
    return dict(raw)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return f"scalar ({node.value!r})"

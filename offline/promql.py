"""Metric names a PromQL expression selects: a small tokenizer, not a full parser.

The metric-contract check needs only the selectors' metric names. An identifier is one when it
is not followed by ``(`` (a function or an aggregation), not a PromQL keyword, and not a label
name: label matchers ``{...}``, the label lists of ``by``/``without``/``on``/``ignoring``/
``group_left``/``group_right`` and range or subquery brackets ``[...]`` are skipped whole.
``{__name__="x"}`` selects ``x``. Grafana's template variables (``$var``, ``${var}``,
``[[var]]``) and string literals never name a metric.
"""

from __future__ import annotations

import re

KEYWORDS = frozenset({
    # binary and set operators, modifiers
    "and", "or", "unless", "atan2", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right",
    # aggregation operators (``sum by (x) (...)`` puts ``by`` between the name and its parenthesis)
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio",
    # number literals spelled as words
    "inf", "nan",
})
"""Lower-cased words that are never metric names."""

LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
"""Keywords whose parenthesised argument is a list of label names."""

IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"[0-9.]+(?:[eE][+-]?[0-9]+)?[0-9A-Za-z_.]*")
"""Numbers and durations (``0.95``, ``1e6``, ``0x1f``, ``5m``, ``1h30m``) in one token."""
NAME_MATCHER = re.compile(r"__name__\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`)")


class PromQLSyntaxError(ValueError):
    """An expression the tokenizer cannot read (unclosed string, brace or bracket)."""


def _skip_string(expr: str, start: int) -> int:
    """Index just past the string literal that opens at ``start``."""
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise PromQLSyntaxError(f"unclosed string starting at {start}: {expr[start:start + 30]!r}")


def _closing(expr: str, start: int, opening: str, closing: str) -> int:
    """Index just past the ``closing`` that matches the ``opening`` at ``start`` (strings skipped)."""
    depth = 0
    i = start
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _skip_string(expr, i)
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise PromQLSyntaxError(f"unclosed {opening!r} at {start}: {expr[start:start + 30]!r}")


def _next_char(expr: str, start: int) -> tuple[str, int]:
    """The next non-blank character at or after ``start`` and its index ('' at the end)."""
    i = start
    while i < len(expr) and expr[i].isspace():
        i += 1
    return (expr[i], i) if i < len(expr) else ("", i)


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return body if literal[0] == "`" else re.sub(r"\\(.)", r"\1", body)


def metric_names(expr: str) -> set[str]:
    """Every metric name ``expr`` selects, in any position (inside functions, across operators)."""
    names: set[str] = set()
    i = 0
    while i < len(expr):
        char = expr[i]
        if char.isspace():
            i += 1
        elif char == "#":  # comment to the end of the line
            newline = expr.find("\n", i)
            i = len(expr) if newline < 0 else newline + 1
        elif char in "\"'`":
            i = _skip_string(expr, i)
        elif char == "{":
            end = _closing(expr, i, "{", "}")
            names.update(_unquote(m.group(1)) for m in NAME_MATCHER.finditer(expr, i, end))
            i = end
        elif expr.startswith("[[", i):  # Grafana's old-style variable
            end = expr.find("]]", i)
            if end < 0:
                raise PromQLSyntaxError(f"unclosed '[[' at {i}")
            i = end + 2
        elif char == "[":
            i = _closing(expr, i, "[", "]")
        elif char == "$":  # Grafana variable: $var or ${var}
            if expr.startswith("${", i):
                i = _closing(expr, i + 1, "{", "}")
            else:
                match = IDENT.match(expr, i + 1)
                i = match.end() if match else i + 1
        elif char.isdigit() or (char == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            match = NUMBER.match(expr, i)
            i = match.end() if match else i + 1
        elif match := IDENT.match(expr, i):
            word = match.group(0)
            following, at = _next_char(expr, match.end())
            i = match.end()
            if word.lower() in LABEL_LIST_KEYWORDS and following == "(":
                i = _closing(expr, at, "(", ")")
            elif following == "(" or word.lower() in KEYWORDS:
                continue  # a function, an aggregation or a keyword
            else:
                names.add(word)
        else:
            i += 1
    return names

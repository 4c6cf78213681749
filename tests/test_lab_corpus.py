"""lab/corpus.py's verdicts on the real CLI's output (the subset itself runs in the lab)."""

from __future__ import annotations

from pathlib import Path

from lab.corpus import verdict
from offline.corpus import Case

VIOLATING = Case(Path("v-ingress-typed.py"), "k8s-ingress-disallowed", "typed", True, "")
LEGIT = Case(Path("ok-ingress-disabled.py"), "pass", "helm-v4", True, "")
BLOCKED = """Previewing update (corpus):
Policies:
    \u274c llm-tracing-infra@v0.1.0 (local: policies)
        - [mandatory]  k8s-ingress-disallowed  (kubernetes:networking.k8s.io/v1:Ingress: web)
          No Kubernetes Ingress (any API version) ...
Traceback (most recent call last):
  File "x.py", line 1, in <module>
KeyboardInterrupt
error: preview failed
"""


def test_a_named_mandatory_violation_is_a_block() -> None:
    assert verdict(VIOLATING, 255, BLOCKED)[0] == "blocked"


def test_another_rule_or_a_provider_error_is_a_slip() -> None:
    other = BLOCKED.replace("k8s-ingress-disallowed", "no-credential-literals")
    assert verdict(VIOLATING, 255, other)[0] == "slipped"
    assert verdict(VIOLATING, 255, "error: namespaces \"apps\" not found\n")[0] == "slipped"
    assert verdict(VIOLATING, 0, "Resources:\n    + 2 to create\n")[0] == "slipped"


def test_legitimate_programs_pass_or_are_false_positives() -> None:
    assert verdict(LEGIT, 0, "Resources:\n    + 2 to create\n")[0] == "passed"
    assert verdict(LEGIT, 255, BLOCKED)[0] == "false-positive"


def test_a_program_traceback_is_a_crash() -> None:
    output = 'Traceback (most recent call last):\n  File "__main__.py", line 3\nTypeError: bad argument\nerror: x\n'
    assert verdict(LEGIT, 255, output) == ("crash", "TypeError: bad argument")

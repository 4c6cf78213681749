"""The policy corpus through the offline preview: every violating program blocked by the rule its header
names, every near-miss passes, nothing crashes (``python -m offline corpus`` prints the same counts)."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import pytest
from llm_policies import offline as policy_offline
from pulumi_policy import EnforcementLevel

from offline import corpus
from offline.preview import preview

MANDATORY = sorted(p.name for p in policy_offline.POLICIES if p.enforcement_level == EnforcementLevel.MANDATORY)
STYLES_EVERY_RESOURCE_RULE_COVERS = {"typed", "configgroup-objs", "configgroup-yaml", "configfile", "kustomize"}


@pytest.fixture(scope="module")
def outcomes() -> list[corpus.Outcome]:
    return [corpus.run_case(case) for case in corpus.load_cases()]


def test_corpus_is_large_enough_and_covers_every_rule_and_style() -> None:
    cases = corpus.load_cases()
    violating = [c for c in cases if c.violating]
    assert len(violating) >= 80 and len(cases) - len(violating) >= 25
    assert {c.expect for c in violating} == set(MANDATORY)
    styles = {c.style for c in cases}
    assert {"custom-resource", "helm-v4", "helm-v3-release", "patch", "command", "yaml-v1", "helm-v3-chart"} <= styles
    by_rule: dict[str, set[str]] = defaultdict(set)
    for case in violating:
        by_rule[case.expect].add(case.style)
    for rule in MANDATORY:
        if rule != "vllm-kubernetes-only":  # a host command or Docker container, not a Kubernetes object
            # manifests: every rule in each manifest style (istiod, node-exporter ordering rules included)
            assert by_rule[rule] >= STYLES_EVERY_RESOURCE_RULE_COVERS - {"typed"}, (rule, by_rule[rule])


def test_lab_subset_has_a_case_per_rule_and_per_style() -> None:
    cases = [c for c in corpus.load_cases() if c.lab]
    assert {c.expect for c in cases if c.violating} == set(MANDATORY)
    assert {c.style for c in cases} >= {
        "typed", "custom-resource", "configgroup-objs", "configgroup-yaml", "configfile", "kustomize",
        "helm-v4", "helm-v3-release", "patch", "command",
    }
    assert any(not c.violating for c in cases)


def test_every_program_gets_the_expected_verdict(outcomes: list[corpus.Outcome]) -> None:
    tally = corpus.counts(outcomes)
    print(corpus.summary_line(tally))
    wrong = [f"{o.verdict}: {o.case.name}: {o.detail}" for o in outcomes if o.verdict not in ("blocked", "passed")]
    assert wrong == []
    assert tally["blocked"] == tally["violating"] and tally["passed"] == tally["legitimate"]


def test_findings_name_the_resource_and_field(outcomes: list[corpus.Outcome]) -> None:
    """A blocked program's message says where (a field path or the object) and what to do."""
    for outcome in outcomes:
        if outcome.verdict == "blocked":
            message = outcome.detail
            assert "'" in message or "." in message, outcome.case.name
            fixes = ("set ", "use ", "add ", "take ", "move ", "build ", "Remove", "remove", "route", "label", "depend")
            assert any(word in message for word in fixes), (outcome.case.name, message)


def test_a_missing_program_file_is_a_finding_not_a_pass(tmp_path: Path) -> None:
    """Fail closed: a ConfigFile the offline preview cannot read blocks, naming the resource."""
    (tmp_path / "Pulumi.corpus.yaml").write_text("config: {}\n")
    program = tmp_path / "prog.py"
    program.write_text('import pulumi_kubernetes as k8s\nk8s.yaml.v2.ConfigFile("missing", file="nowhere.yaml")\n')
    plan, code = preview("corpus", program=program, stream=io.StringIO(), root=tmp_path)
    assert code == 1 and plan is not None
    assert any(f.check == "offline-render" and "nowhere.yaml" in f.message for f in plan.findings)

"""The policy corpus: forbidden things written the ways people write them, and near-misses that are fine.

``python -m offline corpus`` runs every program of ``tests/policy_corpus/cases`` through the offline
preview (one mock runtime per program, in this process) and prints the counts CI reports: violating
programs blocked by the rule their header names, violating programs that slipped (passed, or were
blocked only by something else), legitimate programs refused (false positives), and crashes
(a traceback instead of a verdict). Exit 1 unless every count but ``blocked``/``passed`` is zero.

Each program starts with a header::

    # expect: k8s-ingress-disallowed     (a policy name, or ``pass``)
    # style: helm-v4                     (how the resource is declared)
    # lab: yes                           (also in the real-CLI subset, lab/corpus.py)
    # why: one line
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from offline.runner import ROOT

CORPUS_DIR = ROOT / "tests" / "policy_corpus"
STACK = "corpus"
_HEADER = re.compile(r"^# (expect|style|lab|why): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    path: Path
    expect: str
    """The policy that must block it, or ``pass``."""
    style: str
    lab: bool
    why: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def violating(self) -> bool:
        return self.expect != "pass"


@dataclass(frozen=True)
class Outcome:
    case: Case
    verdict: str
    """``blocked`` / ``slipped`` (violating), ``passed`` / ``false-positive`` (legitimate), or ``crash``."""
    detail: str


def load_cases(directory: Path = CORPUS_DIR / "cases") -> list[Case]:
    """Every program with its header; a program without a complete header is an error, not skipped."""
    cases = []
    for path in sorted([*directory.glob("v-*.py"), *directory.glob("ok-*.py")]):
        header = dict(_HEADER.findall(path.read_text()[:2000]))
        missing = {"expect", "style", "lab", "why"} - set(header)
        if missing:
            raise ValueError(f"{path.name}: header lacks {sorted(missing)} (see offline/corpus.py)")
        cases.append(Case(path, header["expect"].strip(), header["style"].strip(), header["lab"].strip() == "yes",
                          header["why"].strip()))
    return cases


def run_case(case: Case) -> Outcome:
    """One program through the offline preview, in this process; any exception is a crash."""
    from offline.preview import preview  # imported late: python -m offline corpus --list needs no SDK

    stream = io.StringIO()
    try:
        plan, code = preview(STACK, program=case.path, stream=stream, root=CORPUS_DIR)
    except BaseException as exc:  # a crash must be counted, never end the run
        return Outcome(case, "crash", "".join(traceback.format_exception_only(type(exc), exc)).strip())
    mandatory = [f for f in plan.findings if f.level == "mandatory"] if plan else []
    if plan is None:
        return Outcome(case, "crash", stream.getvalue().strip().splitlines()[-1])
    if "Traceback" in stream.getvalue():
        return Outcome(case, "crash", "the preview printed a traceback")
    lines = "; ".join(f"{f.check}: {f.message}" for f in mandatory)
    if case.violating:
        named = [f for f in mandatory if f.check == f"policy:{case.expect}"]
        if code == 1 and named:
            return Outcome(case, "blocked", named[0].message)
        return Outcome(case, "slipped", f"exit {code}; mandatory: {lines or 'none'}")
    return Outcome(case, "passed" if code == 0 else "false-positive", lines)


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    tally = Counter(o.verdict for o in outcomes)
    return {
        "violating": sum(o.case.violating for o in outcomes),
        "legitimate": sum(not o.case.violating for o in outcomes),
        "blocked": tally["blocked"],
        "slipped": tally["slipped"],
        "passed": tally["passed"],
        "false_positives": tally["false-positive"],
        "crashes": tally["crash"],
    }


def summary_line(tally: dict[str, int], where: str = "offline") -> str:
    return (
        f"policy corpus ({where}): {tally['violating']} violating -> {tally['blocked']} blocked, "
        f"{tally['slipped']} slipped; {tally['legitimate']} legitimate -> {tally['false_positives']} false positives; "
        f"{tally['crashes']} crashes"
    )


def ok(tally: dict[str, int]) -> bool:
    return tally["slipped"] == tally["false_positives"] == tally["crashes"] == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="pattern", default="", help="only cases whose name contains this")
    parser.add_argument("-v", dest="verbose", action="store_true", help="print every case, not only failures")
    args = parser.parse_args(argv)
    outcomes = [run_case(c) for c in load_cases() if args.pattern in c.name]
    for outcome in outcomes:
        if args.verbose or outcome.verdict in ("slipped", "false-positive", "crash"):
            print(f"{outcome.verdict:>14}  {outcome.case.name} [{outcome.case.style}]: {outcome.detail}")
    tally = counts(outcomes)
    print(summary_line(tally))
    return 0 if ok(tally) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m offline preview --stack dev|gpu [--out DIR] [--set KEY=VALUE ...] [--program FILE]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offline.preview import EXIT_CONFIG, preview
from offline.runner import known_stacks


def parse_set(values: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --set takes KEY=VALUE (like `pulumi config set --path KEY VALUE`), got {item!r}")
        overrides[key] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("preview", help="run the program under Pulumi's mock runtime and judge its plan")
    run.add_argument("--stack", required=True, choices=known_stacks())
    run.add_argument("--out", type=Path, default=None, help="write plan.json and manifests/ here")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. vllm.gpuMemoryUtilization=0.8 (repeatable)",
    )
    run.add_argument("--program", type=Path, default=None, help="run this program instead of __main__.py")
    sub.add_parser("corpus", help="run the policy corpus (tests/policy_corpus) and print its counts", add_help=False)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["corpus"]:
        from offline import corpus

        return corpus.main(argv[1:])
    args = parser.parse_args(argv)
    try:
        overrides = parse_set(args.overrides)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    _, code = preview(args.stack, overrides, program=args.program.resolve() if args.program else None, out=args.out)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""``python -m offline preview --stack dev|gpu [--out DIR] [--set KEY=VALUE ...] [--secret KEY=VALUE ...]
[--program FILE]``
and ``python -m offline diff --base REF [--stack S ...] [--out FILE] [--summary]``."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path


def parse_set(
    values: list[str], flag: str = "--set", like: str = "pulumi config set --path KEY VALUE"
) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {flag} takes KEY=VALUE (like `{like}`), got {item!r}")
        overrides[key] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    from offline import diff_cli  # imported here, after the command line's gc setting
    from offline.preview import EXIT_CONFIG, preview
    from offline.runner import known_stacks

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
    run.add_argument(
        "--secret",
        dest="secrets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a secret config key, like `pulumi config set --secret KEY VALUE` (repeatable)",
    )
    run.add_argument("--program", type=Path, default=None, help="run this program instead of __main__.py")
    diff_cli.add_parser(sub)
    sub.add_parser("corpus", help="run the policy corpus (tests/policy_corpus) and print its counts", add_help=False)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["corpus"]:
        from offline import corpus

        return corpus.main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "diff":
        return diff_cli.run(args)
    try:
        overrides = parse_set(args.overrides)
        secrets = parse_set(args.secrets, "--secret", "pulumi config set --secret KEY VALUE")
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    program = args.program.resolve() if args.program else None
    _, code = preview(args.stack, overrides, program=program, out=args.out, secrets=secrets)
    return code


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown: outputs are written and closed, streams flushed.

    Tearing down the hundreds of modules the Pulumi SDK and the Kubernetes types load (and the
    mock runtime's idle threads) took about a third of a second of a preview a user waits for, and
    nothing is left to run at that point. Only the command line does this; ``main`` returns normally.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    # A preview is one short burst of allocation (the SDK's and Kubernetes types' classes, ~450
    # registrations) whose objects all live until exit: the cyclic collector's passes over them cost
    # about a tenth of the process's CPU and free almost nothing (peak RSS +1.5 MiB without them).
    gc.disable()
    exit_now(main())

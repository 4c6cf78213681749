"""actionlint at a pinned release, for the workflow tests: ``python -m tools.actionlint`` prints its path.

Built from the Go module proxy into ``<tool cache>/bin`` (where ``tests/test_workflows.py`` looks),
on the Go caches the other builds share.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.go_install import go_install  # noqa: E402
from tools.paths import tool_cache  # noqa: E402

# renovate: datasource=github-releases depName=rhysd/actionlint
ACTIONLINT = "v1.7.12"
PACKAGE = "github.com/rhysd/actionlint/cmd/actionlint"


def main() -> int:
    # The version is stamped as actionlint's own release build does, so `actionlint -version` tells.
    stamp = f"-X github.com/rhysd/actionlint.version={ACTIONLINT}"
    print(go_install(PACKAGE, ACTIONLINT, tool_cache() / "bin" / "actionlint", ldflags=stamp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

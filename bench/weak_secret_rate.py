"""How often the weak-credential heuristic takes a generated secret for a typed one.

Under ``pulumi preview`` a Secret's values reach the policies in plaintext, so ``human_shaped``
judges them by content. A false "typed" on a generated value is a mandatory violation that blocks
every preview of that stack (a derived credential never changes), so its rate must be negligible
at the lengths generators use. Random alphanumeric strings rarely look word-shaped at all; to
measure the rare ones, this samples strings that already are (letters, then at most six digits)
and multiplies by the chance of that shape.

``python -m bench.weak_secret_rate [--samples N]`` prints one line per length.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policies"))

from llm_policies._credentials import human_shaped

LENGTHS = (16, 20, 24, 32)
LETTER, DIGIT = 52 / 62, 10 / 62


def word_shaped_chance(length: int) -> list[float]:
    """P(a random alphanumeric string of ``length`` is letters then ``k`` digits), for k = 0..6."""
    return [LETTER ** (length - k) * DIGIT**k for k in range(7)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000, help="word-shaped strings drawn per length")
    args = parser.parse_args()
    rng = random.Random(20261203)
    for length in LENGTHS:
        chances = word_shaped_chance(length)
        typed = 0
        for _ in range(args.samples):
            digits = rng.choices(range(7), weights=chances)[0]
            value = "".join(rng.choices(string.ascii_letters, k=length - digits))
            value += "".join(rng.choices(string.digits, k=digits))
            typed += human_shaped(value)
        shaped = sum(chances)
        rate = shaped * typed / args.samples
        print(
            f"length {length}: word-shaped {shaped:.4f}; of those taken for typed {typed}/{args.samples}; "
            f"false 'weak' per generated secret {rate:.2e}"
            + (f" (none seen: below ~{shaped * 3 / args.samples:.1e})" if typed == 0 else "")
        )


if __name__ == "__main__":
    main()

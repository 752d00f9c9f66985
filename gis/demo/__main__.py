"""``python -m gis.demo [OUT_DIR] [--seed N]``: write the demo street (default data/boundaries)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gis.demo import generate


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, generate, print the summary."""
    parser = argparse.ArgumentParser(prog="python -m gis.demo", description=__doc__)
    parser.add_argument("out_dir", nargs="?", default="data/boundaries", type=Path)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    print(generate(args.out_dir, seed=args.seed))


if __name__ == "__main__":
    main()

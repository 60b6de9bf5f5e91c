"""Start-up time of the CLI: `sadpnet --help` against `python -c pass` (the interpreter alone), in the
same run. Prints the best and median of several runs (2 shared cores: noisy; the best is the fairest).

Usage: .venv/bin/python bench/bench_cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True)
        out.append(time.perf_counter() - t)
        assert r.returncode == 0, r.stderr
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    base = timed([sys.executable, "-c", "pass"], args.repeats)
    cli = timed([sys.executable, "-m", "sadpnet", "--help"], args.repeats)
    print(f"python -c pass : best {min(base):.3f} s, median {statistics.median(base):.3f} s")
    print(f"sadpnet --help : best {min(cli):.3f} s, median {statistics.median(cli):.3f} s")
    print(f"RATIO sadpnet --help / python -c pass: {min(cli) / min(base):.1f}x (best of {args.repeats})")
    print(f"TARGET < 1 s: {'met' if min(cli) < 1.0 else 'NOT met'} (best {min(cli):.3f} s)")


if __name__ == "__main__":
    main()

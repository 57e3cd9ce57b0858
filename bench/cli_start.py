"""How long `scanctl` takes to start: `--help`, a TAB of completion, the import alone.

Every TAB of shell completion starts a `scanctl` process, so its start is what a
person feels. Prints name=value lines (milliseconds, the minimum and the median of
RUNS runs), with the interpreter's own start (`python -c pass`) as the baseline
measured in the same run. Target (issue 18): `--help` and completion under 250 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

RUNS = 15
BIN = Path(sys.executable).parent
SCANCTL = str(BIN / "scanctl")


def _times(argv: list[str], env: dict[str, str]) -> list[float]:
    out = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    """Print the figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANCTL_")}
    complete = {
        **env,
        "_SCANCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "scanctl de",
        "COMP_CWORD": "1",
    }
    cases = {
        "python_pass": ([sys.executable, "-c", "pass"], env),
        "import_cli": ([sys.executable, "-c", "import scanctl.cli.app"], env),
        "help": ([SCANCTL, "--help"], env),
        "sub_help": ([SCANCTL, "device", "list", "--help"], env),
        "complete": ([SCANCTL], complete),
    }
    for name, (argv, case_env) in cases.items():
        runs = _times(argv, case_env)
        print(f"{name}_min_ms={min(runs):.0f}")
        print(f"{name}_median_ms={statistics.median(runs):.0f}")
    print(f"load_average_1m={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

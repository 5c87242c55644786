"""What the benchmark scripts share: where the project and ../shared are, and percentiles.

The scripts run as ``python bench/NAME.py``, so this folder is on ``sys.path``;
importing this module also puts the project root there.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "realtimeqa"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(xs: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``xs``."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

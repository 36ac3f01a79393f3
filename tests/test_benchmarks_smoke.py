"""`python benchmarks/run.py --quick` keeps working: every workload and
scaling point runs, finds matches, and the engine finds exactly the matches
of the hand-written baselines. Never asserts on a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "run.py"

WORKLOADS = ("fraud", "quantifier", "trailing_not", "sliding_window", "rules_100", "skip_till_any", "cli_e2e")
SERIES = {"scale_keys": 3, "scale_within": 4, "scale_rules": 4}
# Workloads the script checks against a hand-written baseline (cli_e2e and
# rules_100 check against the fraud baseline).
CHECKED = ("fraud", "quantifier", "trailing_not", "sliding_window", "rules_100", "cli_e2e")


def test_quick_benchmark_runs_and_engine_matches_baselines(tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(results_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    results = json.loads(results_file.read_text())

    rows: dict[str, str] = {}  # the first line naming each workload: its row in the workloads table
    for line in out.splitlines():
        if line.split() and line.split()[0] in WORKLOADS:
            rows.setdefault(line.split()[0], line)
    assert sorted(rows) == sorted(WORKLOADS), out
    for name in WORKLOADS:
        result = results["workloads"][name]
        assert result["events"] > 0
        assert result["match_count"] > 0, f"{name} found no matches"
        assert f"{result['match_count']:,}" in rows[name]
    for name in CHECKED:
        assert results["workloads"][name]["check"] == "same", results["workloads"][name].get("check_detail")
    for name, points in SERIES.items():
        assert len(results["series"][name]) == points
        for _, result in results["series"][name]:
            assert result["match_count"] > 0
            assert result["check"] == "same", result.get("check_detail")

    # State is bounded: nothing is left once the watermark passes the stream.
    for name in ("fraud", "quantifier", "trailing_not", "skip_till_any"):
        assert results["workloads"][name]["drained_partial"] == 0
    assert results["workloads"]["fraud"]["bytes_per_partial"] > 0
    assert "engine/baseline match checks passed" in out
    for verdict_line in ("fraud rule: engine >=", "100 rules (5 hot)", "cepengine run, default store"):
        assert verdict_line in out

#!/usr/bin/env python3
"""Prints the medians of criterion benchmarks in one group and their ratio to the first.

usage: criterion_summary.py <target/criterion/GROUP> <bench> [<bench> ...]
"""
import json
import pathlib
import sys


def median_ns(group: pathlib.Path, bench: str) -> float:
    estimates = json.loads((group / bench / "new" / "estimates.json").read_text())
    return estimates["median"]["point_estimate"]


def main() -> None:
    group = pathlib.Path(sys.argv[1])
    benches = sys.argv[2:]
    medians = {bench: median_ns(group, bench) for bench in benches}
    base = benches[0]
    print(f"\n{group.name}: medians")
    for bench, ns in medians.items():
        ratio = "" if bench == base else f"   ({ns / medians[base]:.1f}x {base})"
        print(f"  {bench:<10} {ns:10.1f} ns{ratio}")


if __name__ == "__main__":
    main()

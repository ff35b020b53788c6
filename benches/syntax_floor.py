#!/usr/bin/env python3
"""The syntactic pass against its floor (issue 12): per crate, the wall time of
`cargo migrate edition --no-compiler --format json` (a dry run: process start, `cargo
metadata`, reading, parsing, the rules, planning, the JSON), best of N, next to the time
syn alone takes to read and parse the same files on one thread (`benches/parse_floor.rs`,
best of 3), measured in the same run. Then the same crates as members of one workspace,
migrated by one process (how a sweep or a monorepo calls it), against the summed floor.

Usage: python3 benches/syntax_floor.py --corpus DIR [--exe PATH] [--runs N]
`--exe` defaults to target/release/cargo-migrate (build it first: `cargo build --release`);
the floor is built with `cargo bench --bench parse_floor --no-run` (release profile).
Prints a Markdown table. Python stdlib only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def floor_binary() -> Path:
    out = subprocess.run(["cargo", "bench", "--bench", "parse_floor", "--no-run", "--message-format=json"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "parse_floor" and m.get("executable"):
            return Path(m["executable"])
    sys.exit("parse_floor was not built")


def best_of(cmd, cwd, env, runs):
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if r.returncode not in (0, 1):
            sys.exit(f"{cmd} failed in {cwd}:\n{r.stderr[-2000:]}")
        best = dt if best is None else min(best, dt)
    return best * 1000


def strip_workspace(manifest: Path):
    """A member cannot hold its own `[workspace]` table."""
    text = manifest.read_text()
    text = re.sub(r"(?ms)^\[workspace\][^\[]*", "", text)
    manifest.write_text(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--exe", default=str(ROOT / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    exe = Path(args.exe).resolve()
    crates = sorted(p for p in Path(args.corpus).iterdir() if (p / "Cargo.toml").is_file())
    floor = floor_binary()
    floors = {}
    for line in subprocess.run([str(floor), *map(str, crates)], capture_output=True, text=True, check=True).stdout.splitlines():
        d = json.loads(line)
        floors[Path(d["dir"]).name] = d
    work = Path(tempfile.mkdtemp(prefix="syntax-floor-"))
    env = {**os.environ, "CARGO_TARGET_DIR": str(work / "target")}
    rows, total_ours, total_floor = [], 0.0, 0.0
    try:
        for crate in crates:
            copy = work / crate.name
            shutil.copytree(crate, copy)
            ours = best_of([str(exe), "migrate", "edition", "--no-compiler", "--format", "json", "--llm", "none"], copy, env, args.runs)
            f = floors[crate.name]
            rows.append((crate.name, f["files"], f["lines"], ours, f["ms"]))
            total_ours += ours
            total_floor += f["ms"]
        # One workspace holding every crate: one process, one `cargo metadata`.
        ws = work / "all"
        ws.mkdir()
        for crate in crates:
            shutil.copytree(crate, ws / crate.name)
            strip_workspace(ws / crate.name / "Cargo.toml")
        members = ", ".join(json.dumps(c.name) for c in crates)
        (ws / "Cargo.toml").write_text(f"[workspace]\nmembers = [{members}]\nresolver = \"2\"\n")
        one = best_of([str(exe), "migrate", "edition", "--no-compiler", "--workspace", "--format", "json", "--llm", "none"], ws, env, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"tool: {exe}; floor: syn::parse_file over the same files, one thread, best of 3; ours: best of {args.runs}; nproc {os.cpu_count()}\n")
    print("| crate | files | lines | syntax only (ms) | syn parse floor (ms) | ratio |")
    print("|---|---|---|---|---|---|")
    for name, files, lines, ours, fl in rows:
        print(f"| {name} | {files} | {lines} | {ours:.0f} | {fl:.0f} | {ours / fl:.2f}× |")
    print(f"| **sum of per-crate runs** | | {sum(r[2] for r in rows)} | {total_ours:.0f} | {total_floor:.0f} | {total_ours / total_floor:.2f}× |")
    print(f"| **one run, all crates as one workspace** | | | {one:.0f} | {total_floor:.0f} | {one / total_floor:.2f}× |")


if __name__ == "__main__":
    main()

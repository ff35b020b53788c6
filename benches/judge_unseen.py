#!/usr/bin/env python3
"""The judge on code it was not written against: the labeled sites of
benches/judge-unseen/sites.toml, in real crates of the registry.

Usage:
    python3 benches/judge_unseen.py [--exe target/release/cargo-migrate] [--out JSON] [--crates A,B] [-- MIGRATE-ARGS...]

Each crate is unpacked from cargo's registry (benches/support/registry.py; fetched first if
cargo's cache does not hold it) into a temporary folder, made its own workspace, and
`cargo-migrate edition --format json` runs on it (by default with `--llm none`: the
heuristics alone; pass e.g. `-- --llm openai --llm-url http://127.0.0.1:8080 --model m` to
put a model after them). Each labeled site's verdict is compared with its label. Prints
the summary table and the sites not decided by a heuristic or decided wrong; writes
everything to --out (default target/judge-unseen.json). Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
import registry  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "benches/judge-unseen/sites.toml"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=str(REPO / "target/release/cargo-migrate"))
    ap.add_argument("--out", default=str(REPO / "target/judge-unseen.json"))
    ap.add_argument("--crates", default="", help="comma-separated crates (name-version) to run, of the set's; default: all")
    ap.add_argument("migrate_args", nargs="*", help="arguments for `cargo-migrate edition` (default: --llm none)")
    args = ap.parse_args()
    exe = Path(args.exe).resolve()
    if not exe.is_file():
        sys.exit(f"no {exe}: build it with `cargo build --release`")
    extra = args.migrate_args or ["--llm", "none"]
    sites = tomllib.loads(SITES.read_text())["site"]
    if args.crates:
        sites = [s for s in sites if s["crate"] in args.crates.split(",")]
    crates = sorted({s["crate"] for s in sites})
    verdicts = {}
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="judge-unseen-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, CARGO_TARGET_DIR=str(work / "target"))
        for c in crates:
            name, version = c.rsplit("-", 1)
            src = registry.fetch(name, version, work / "src")
            dst = work / c
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".cargo_vcs_info.json", "target"))
            manifest = dst / "Cargo.toml"
            if "[workspace]" not in manifest.read_text():
                manifest.write_text(manifest.read_text() + "\n[workspace]\n")
            print(f"{c} ...", file=sys.stderr, flush=True)
            start = time.monotonic()
            p = subprocess.run([str(exe), "migrate", "edition", "--format", "json", *extra], cwd=dst, env=env, capture_output=True, text=True)
            seconds[c] = round(time.monotonic() - start, 1)
            try:
                doc = json.loads(p.stdout)
            except json.JSONDecodeError:
                sys.exit(f"{c}: no JSON from cargo-migrate (status {p.returncode}):\n{p.stderr[-2000:]}")
            for v in doc["verdicts"]:
                verdicts[(c, v["file"], v["line"], v["rule"])] = v
    rows = []
    for s in sites:
        v = verdicts.get((s["crate"], s["file"], s["line"], s["rule"]))
        rows.append({**s, "verdict": v["option"] if v else None, "decided_by": v["decided_by"]["kind"] if v else None,
                     "reason": v["reason"] if v else "no verdict at this line", "right": bool(v) and v["option"] == s["label"]})
    by = lambda kind: [r for r in rows if r["decided_by"] == kind]  # noqa: E731
    heur, model, fallback = by("heuristic"), by("llm"), [r for r in rows if r["decided_by"] not in ("heuristic", "llm")]
    pct = lambda a, b: f"{a}/{b} ({100 * a / b:.0f}%)" if b else "—"  # noqa: E731
    print("| sites | decided by heuristics | heuristics right | left to the model | model right (on those) | fallbacks | right, all sites |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {len(rows)} | {pct(len(heur), len(rows))} | {pct(sum(r['right'] for r in heur), len(heur))} | {len(rows) - len(heur)} "
          f"| {pct(sum(r['right'] for r in model), len(model))} | {len(fallback)} | {pct(sum(r['right'] for r in rows), len(rows))} |")
    print()
    print("| site | label | decided by | verdict | reason |")
    print("|---|---|---|---|---|")
    for r in rows:
        if r["decided_by"] != "heuristic" or not r["right"]:
            print(f"| {r['crate']} {r['file']}:{r['line']} | {r['label']} | {r['decided_by']} | {r['verdict']}{'' if r['right'] else ' **wrong**'} | {r['reason']} |")
    print(f"\nseconds per crate: {seconds}", file=sys.stderr)
    Path(args.out).write_text(json.dumps({"args": extra, "rows": rows, "seconds": seconds}, indent=2))


if __name__ == "__main__":
    main()

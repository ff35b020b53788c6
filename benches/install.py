#!/usr/bin/env python3
"""What `cargo install --path .` costs: crates compiled, wall time, the binary's size.

Usage:
    python3 benches/install.py [--rev REV] [--base REV] [--only NAME ...] [--scratch DIR]

Each variant is a clean install, run the same way, one after the other:
  * the source of a commit (`git archive`, so uncommitted changes are not measured)
    unpacked into a temporary folder;
  * `cargo install --path SRC --root ROOT --locked --offline` with a fresh
    `CARGO_TARGET_DIR` (dependencies must be in cargo's cache already: fetch them once with
    `cargo fetch --locked`); profile settings given as `--config profile.release.*`, which
    take precedence over the manifest's `[profile.release]`;
  * crates compiled = cargo's "Compiling" lines (build scripts and proc macros included, the
    tool itself too); wall time of the whole command; the installed binary's size, and its
    size after `strip` (what `strip = true` gives without rebuilding);
  * the 1-minute load average before and after, from /proc/loadavg: wall times are only
    comparable between variants of one run on the same machine.

Variants (all by default, in this order; `--only` picks some):
  before    --base REV (default: the commit before the install work) as it was
  deps      --rev (default HEAD) with cargo's default release profile (no LTO, 16 codegen units)
  thin      --rev, lto = "thin", strip = true
  fat-cgu1  --rev, lto = "fat", codegen-units = 1, strip = true
  shipped   --rev as committed (its own [profile.release])

Prints a Markdown table. Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The last commit before the dependency and profile changes of issue 12.
BASE = "4760007"

DEFAULT_PROFILE = {"lto": "false", "codegen-units": "16", "strip": '"debuginfo"'}  # cargo's defaults when debug = 0
VARIANTS = [
    ("before", "base", None, "before issue 12: env-filter, anstream 0.6, no profile"),
    ("deps", "rev", DEFAULT_PROFILE, "trimmed dependencies, cargo's default release profile"),
    ("thin", "rev", {"lto": '"thin"', "codegen-units": "16", "strip": "true"}, 'lto = "thin", strip = true'),
    ("fat-cgu1", "rev", {"lto": '"fat"', "codegen-units": "1", "strip": "true"}, 'lto = "fat", codegen-units = 1, strip = true'),
    ("shipped", "rev", None, "as committed ([profile.release] of Cargo.toml)"),
]


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def export(rev: str, dest: Path) -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def measure(name: str, rev: str, profile: dict[str, str] | None, scratch: Path) -> dict:
    src, target, root = scratch / f"src-{name}", scratch / f"target-{name}", scratch / f"root-{name}"
    src.mkdir()
    export(rev, src)
    cmd = ["cargo", "install", "--path", str(src), "--root", str(root), "--locked", "--offline"]
    for key, value in (profile or {}).items():
        cmd += ["--config", f"profile.release.{key}={value}"]
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    env.pop("RUSTFLAGS", None)
    before = load()
    start = time.monotonic()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = load()
    if run.returncode != 0:
        sys.exit(f"{name}: cargo install failed\n{run.stderr[-4000:]}")
    crates = sum(1 for line in run.stderr.splitlines() if line.strip().startswith("Compiling "))
    exe = root / "bin" / "cargo-migrate"
    stripped = scratch / f"stripped-{name}"
    subprocess.run(["strip", "-o", str(stripped), str(exe)], check=True)
    row = {
        "name": name,
        "rev": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True, text=True).stdout.strip(),
        "crates": crates,
        "wall": wall,
        "size": exe.stat().st_size,
        "stripped": stripped.stat().st_size,
        "load": f"{before} → {after}",
    }
    for path in (src, target, root, stripped):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="HEAD", help="the commit measured by deps, thin, fat-cgu1, shipped")
    ap.add_argument("--base", default=BASE, help="the commit measured by before")
    ap.add_argument("--only", nargs="+", choices=[v[0] for v in VARIANTS], help="measure only these variants")
    ap.add_argument("--scratch", type=Path, help="where the sources, target folders and roots go (default: a temporary folder)")
    args = ap.parse_args()

    print(f"# {os.cpu_count()} CPUs; {subprocess.run(['cargo', '--version'], capture_output=True, text=True).stdout.strip()}", file=sys.stderr)
    rows = []
    scratch_ctx = tempfile.TemporaryDirectory(prefix="install-bench-", dir=args.scratch)
    with scratch_ctx as scratch:
        for name, which, profile, what in VARIANTS:
            if args.only and name not in args.only:
                continue
            rev = args.base if which == "base" else args.rev
            print(f"# {name}: {what} ({rev}) …", file=sys.stderr, flush=True)
            row = measure(name, rev, profile, Path(scratch))
            row["what"] = what
            print(f"#   {row['crates']} crates, {row['wall']:.0f} s, {row['size'] / 1e6:.1f} MB", file=sys.stderr, flush=True)
            rows.append(row)

    print("| variant | what | commit | crates compiled | install wall time | binary | stripped | load (1 min) |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        minutes, seconds = divmod(round(r["wall"]), 60)
        print(
            f"| {r['name']} | {r['what']} | {r['rev']} | {r['crates']} | {minutes} min {seconds:02} s "
            f"| {r['size'] / 1e6:.1f} MB | {r['stripped'] / 1e6:.1f} MB | {r['load']} |"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Crates on edition 2015 or 2018 moved to 2024: `cargo migrate edition` in one run
against `cargo fix --edition` run once per edition step, with the manifest's `edition`
raised by hand (by this script) between the runs, as cargo fix needs.

Usage:
    python3 benches/editions.py [--exe target/release/cargo-migrate] [--out JSON] [NAME-VERSION ...]

Per crate (unpacked from cargo's registry with benches/support/registry.py; fetched first
if cargo's cache does not hold it), on fresh copies in a temporary folder, with one shared
target folder so that both tools build the dependencies once (an untimed `cargo check`
first):
  * ours: `cargo-migrate edition --apply --verify --llm none` (a git repository is made so
    that --apply runs as users run it): wall time, changes per edition step (from the
    diff's headers), whether `--verify` reverted anything;
  * cargo fix: for each step, `cargo fix --edition --allow-no-vcs --allow-dirty`, then the
    manifest's edition raised to the step's edition (and a `rust-version` older than that
    edition raised to its first release, as cargo demands); wall time summed over the steps;
  * each result: `cargo check` of the library with edition 2024 (`builds`), and the number of
    warnings of the 2024 build.
Prints a Markdown table; writes everything to --out (default target/bench-editions.json).
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
import registry  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# Crates nobody here wrote, from the registry: 2015 and 2018 editions, with and without
# build scripts, macros and unsafe code.
CRATES = [
    "fnv-1.0.7",
    "lazy_static-1.5.0",
    "scopeguard-1.2.0",
    "quick-error-1.2.3",
    "textwrap-0.11.0",
    "unicase-2.6.0",
    "time-0.1.45",
    "bincode-1.3.3",
    "num-traits-0.2.15",
    "log-0.4.20",
    "aho-corasick-0.7.18",
    "anyhow-1.0.100",
    "atomic-waker-1.1.2",
    "ahash-0.8.12",
]
STEPS = [("2015", "2018"), ("2018", "2021"), ("2021", "2024")]


def run(cmd, cwd, env=None, timeout=1800):
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - start


def edition_of(manifest: Path) -> str:
    m = re.search(r'^edition\s*=\s*"(\d+)"', manifest.read_text(), re.M)
    return m.group(1) if m else "2015"


MIN_RUST = {"2018": (1, 31), "2021": (1, 56), "2024": (1, 85)}


def set_edition(manifest: Path, edition: str):
    """The manual edit between two cargo fix runs: the edition, and a `rust-version` older
    than the edition's first release raised to it (cargo refuses the manifest otherwise)."""
    text = manifest.read_text()
    m = re.search(r'^rust-version\s*=\s*"(\d+)\.(\d+)[^"]*"', text, re.M)
    if m and (int(m.group(1)), int(m.group(2))) < MIN_RUST[edition]:
        text = text[:m.start()] + 'rust-version = "%d.%d"' % MIN_RUST[edition] + text[m.end():]
    if re.search(r'^edition\s*=', text, re.M):
        text = re.sub(r'^edition\s*=\s*"\d+"', f'edition = "{edition}"', text, count=1, flags=re.M)
    else:
        text = re.sub(r'^(version\s*=.*)$', rf'\1\nedition = "{edition}"', text, count=1, flags=re.M)
    manifest.write_text(text)


def prepare(src: Path, dest: Path):
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("target", ".git", ".cargo_vcs_info.json"))
    # A published manifest names no workspace: make the copy its own.
    manifest = dest / "Cargo.toml"
    text = manifest.read_text()
    if "[workspace]" not in text:
        manifest.write_text(text + "\n[workspace]\n")
    (dest / ".gitignore").write_text("/target\n")


def git_commit(path: Path):
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=path, check=True, capture_output=True)


def check_2024(path: Path, env, targets) -> dict:
    # Every Rust file touched: the crate is compiled again and its warnings are counted
    # (cargo does not always replay a cached build's warnings).
    for f in path.rglob("*.rs"):
        if "target" not in f.relative_to(path).parts:
            f.touch()
    p, secs = run(["cargo", "check", targets, "--message-format=short"], path, env)
    errors = [l for l in p.stderr.splitlines() if re.match(r"^[^ ]+:\d+:\d+: error", l)]
    warnings = [l for l in p.stderr.splitlines() if re.match(r"^[^ ]+:\d+:\d+: warning", l)]
    return {"builds": p.returncode == 0, "errors": len(errors), "warnings": len(warnings), "first_error": errors[0] if errors else None}


def steps_in_diff(diff: str) -> dict:
    counts = {}
    for line in diff.splitlines():
        if not line.startswith("# "):
            continue
        m = re.search(r"line \d+, step (\d+) → (\d+):", line)
        key = f"{m.group(1)}→{m.group(2)}" if m else "→2024"
        counts[key] = counts.get(key, 0) + 1
    return counts


def one(name_version: str, exe: Path, work: Path, env) -> dict:
    name, version = name_version.rsplit("-", 1)
    src = registry.fetch(name, version, work / "src")
    edition = edition_of(src / "Cargo.toml")
    row = {"crate": name_version, "edition": edition}
    pristine = work / f"{name_version}-pristine"
    prepare(src, pristine)
    # The targets both tools are measured on: all of them if the published package builds
    # them (some leave their tests out), else the library.
    for targets in ("--all-targets", "--lib"):
        p, _ = run(["cargo", "check", targets], pristine, env)
        if p.returncode == 0:
            break
    row["targets"] = targets
    row["builds_before"] = p.returncode == 0
    if not row["builds_before"]:
        row["note"] = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "cargo check failed"
        return row
    # Ours.
    ours = work / f"{name_version}-ours"
    prepare(src, ours)
    git_commit(ours)
    p, _ = run([str(exe), "migrate", "edition", "--llm", "none"], ours, env)
    row["ours_steps"] = steps_in_diff(p.stdout)
    p, secs = run([str(exe), "migrate", "edition", "--apply", "--verify", "--llm", "none"], ours, env)
    row["ours_secs"] = round(secs, 2)
    row["ours_status"] = p.returncode
    row["ours_summary"] = next((l for l in p.stderr.splitlines() if l.startswith(("Summary", "Applied"))), "")
    m = re.search(r"(\d+) reverted by --verify", p.stderr)
    row["ours_reverted"] = int(m.group(1)) if m else 0
    row["ours_held_back"] = "is left as it is" in p.stderr
    row["ours_edition"] = edition_of(ours / "Cargo.toml")
    row["ours"] = check_2024(ours, env, targets)
    # cargo fix, one run per step.
    fix = work / f"{name_version}-fix"
    prepare(src, fix)
    total = 0.0
    fixed = []
    for frm, to in STEPS:
        if edition_of(fix / "Cargo.toml") != frm:
            continue
        p, secs = run(["cargo", "fix", "--edition", targets, "--allow-no-vcs", "--allow-dirty"], fix, env)
        total += secs
        fixed.append({"step": f"{frm}→{to}", "status": p.returncode, "secs": round(secs, 2), "error": p.stderr.strip().splitlines()[-1] if p.returncode and p.stderr.strip() else None})
        if p.returncode != 0:
            break
        set_edition(fix / "Cargo.toml", to)
    row["fix_secs"] = round(total, 2)
    row["fix_steps"] = fixed
    row["fix_edition"] = edition_of(fix / "Cargo.toml")
    row["fix"] = check_2024(fix, env, targets) if row["fix_edition"] == "2024" else {"builds": False, "errors": None, "warnings": None, "first_error": "stopped before 2024"}
    return row


def outcome(edition, check):
    if edition != "2024":
        return f"stays on {edition}"
    return f"builds ({check['warnings']} warnings)" if check["builds"] else f"does not build: {check['first_error']}"


def table(rows):
    out = ["| crate | edition | targets | ours: changes by step | reverted by --verify | ours: s | ours on 2024 | cargo fix: runs | cargo fix: s | cargo fix on 2024 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r.get("builds_before"):
            out.append(f"| {r['crate']} | {r['edition']} | | does not build before: {r.get('note', '')} | | | | | | |")
            continue
        steps = ", ".join(f"{k} {v}" for k, v in sorted(r["ours_steps"].items())) or "none"
        ours = outcome(r["ours_edition"], r["ours"]) + (" (held back: see the log)" if r["ours_held_back"] else "")
        out.append(
            f"| {r['crate']} | {r['edition']} | {r['targets']} | {steps} | {r['ours_reverted']} | {r['ours_secs']} | {ours} "
            f"| {len(r['fix_steps'])} | {r['fix_secs']} | {outcome(r['fix_edition'], r['fix'])} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=str(REPO / "target/release/cargo-migrate"))
    ap.add_argument("--out", default=str(REPO / "target/bench-editions.json"))
    ap.add_argument("crates", nargs="*")
    args = ap.parse_args()
    exe = Path(args.exe).resolve()
    if not exe.is_file():
        sys.exit(f"no {exe}: build it with `cargo build --release`")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-editions-") as tmp:
        work = Path(tmp)
        env = dict(**__import__("os").environ, CARGO_TARGET_DIR=str(work / "target"))
        for c in args.crates or CRATES:
            print(f"{c} ...", file=sys.stderr, flush=True)
            try:
                rows.append(one(c, exe, work, env))
            except Exception as e:  # one crate's failure is a row, not the end of the run
                rows.append({"crate": c, "edition": "?", "builds_before": False, "note": f"bench error: {e}"})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()

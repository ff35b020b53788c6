#!/usr/bin/env python3
"""Measure `cargo migrate sweep` on real crates from crates.io (Python 3.11 stdlib only).

The crates of /work/shared/corpus/crates.txt and the EXTRA ones below (all edition 2021,
from a few hundred lines to tokio) are fetched the way /work/shared/corpus/fetch.sh does it
(a throwaway manifest, `cargo fetch`, the `.crate` unpacked from cargo's registry cache)
into a folder outside any git tree ($CARGO_MIGRATE_BENCH_DIR, else
cargo-migrate-sweep-bench in the system's temporary folder: the crates' build scripts run
there and in the sweep's throwaway worktrees, never inside this repository). Each crate
becomes a git repository (its Cargo.lock, resolved and fetched once, untimed, committed with
it, so that no timed run resolves or downloads anything). Then, each into a fresh output
folder,

    cargo-migrate migrate sweep --repos REPOS --migration edition --out OUT -j N --llm none [--no-compiler]

runs syntax-only (`--no-compiler`) and in default mode (the compiler phase: each crate's
dependencies are built, in a target folder of its own), with `-j 1` and `-j 2`. Default
mode takes minutes per configuration; `--default-subset N` runs it on N of the
repositories (spread over the sizes), and the table says so.

Per configuration: repositories and workspaces per minute (wall clock of the whole sweep),
the median and max `seconds` per repository from report.json, peak memory two ways (GNU
time's maximum RSS, which is that of the largest single process of the tree, and the
largest sum of the RSS of every process of the tree, sampled from /proc every 0.2 s), the
CPU time of the tree, and the share of time spent inside cargo (and the rustc it runs):
`$CARGO` points at a wrapper that logs each cargo invocation's start, end and subcommand,
and the share is the sum of those durations over wall time x jobs. The load average is
recorded before and after each run.

Usage: python3 benches/sweep.py [--bin PATH] [--default-subset N] [--skip-default]
                                [--jobs 1,2] [--repeat N] [--profile-repos N]
(docs/sweep-cost.md ran `--repeat 3 --default-subset 6`.)
Prints a Markdown table and writes target/bench-sweep.json.
Needs the network (through cargo only) the first time; later runs use cargo's cache.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from registry import fetch as fetch_into, inside_a_git_tree  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("CARGO_MIGRATE_BENCH_DIR") or Path(tempfile.gettempdir()) / "cargo-migrate-sweep-bench")
CRATES_TXT = Path("/work/shared/corpus/crates.txt")
# Small and medium edition-2021 crates added to crates.txt's twelve.
EXTRA = [
    ("heck", "0.5.0"), ("clap_lex", "0.7.7"), ("adler2", "2.0.1"), ("itoa", "1.0.19"),
    ("either", "1.19.0"), ("anstyle", "1.0.14"), ("bit-vec", "0.10.2"), ("bit-set", "0.11.1"),
    ("concurrent-queue", "2.5.0"), ("crossbeam-deque", "0.8.8"), ("foldhash", "0.2.0"),
    ("semver", "1.0.28"), ("camino", "1.2.6"), ("event-listener", "5.4.2"),
    ("thread_local", "1.1.10"), ("ryu", "1.0.23"), ("memchr", "2.8.3"), ("log", "0.4.35"),
    ("bytes", "1.12.2"), ("aho-corasick", "1.1.5"), ("winnow", "0.7.15"),
    ("tempfile", "3.27.0"), ("rustc-hash", "2.1.3"), ("nu-ansi-term", "0.50.3"),
]
QUIET = {"CARGO_TERM_COLOR": "never", "CARGO_TERM_PROGRESS_WHEN": "never"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)






def corpus_list():
    out = []
    if CRATES_TXT.is_file():
        for line in CRATES_TXT.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, version = line.split()[:2]
                out.append((name, version))
    return out + EXTRA




def git(cwd, *args):
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *ident, *args], cwd=cwd, check=True, capture_output=True)


def make_repo(src, repos):
    """A git repository holding a copy of `src` and its resolved, fetched Cargo.lock."""
    dest = repos / src.name
    if (dest / ".git").is_dir():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True)
    env = {**os.environ, **QUIET}
    if not (dest / "Cargo.lock").is_file():
        subprocess.run(["cargo", "generate-lockfile", "-q"], cwd=dest, env=env, check=False)
    if subprocess.run(["cargo", "fetch", "-q"], cwd=dest, env=env).returncode != 0:
        # A locked version that the index no longer offers (yanked): resolve again.
        subprocess.run(["cargo", "update", "-q"], cwd=dest, env=env)
        if subprocess.run(["cargo", "fetch", "-q"], cwd=dest, env=env).returncode != 0:
            log(f"{src.name}: cargo fetch failed; default mode will fail on it")
    git(dest, "init", "-q")
    git(dest, "add", "-A", "-f")
    git(dest, "commit", "-q", "-m", f"{src.name} as published")
    return dest


def rust_lines(root):
    return sum(len(p.read_bytes().splitlines()) for p in root.rglob("*.rs") if p.is_file())


def edition(manifest):
    return str(tomllib.loads(manifest.read_text()).get("package", {}).get("edition", "2015"))


WRAPPER = """#!/bin/sh
# Logs each cargo invocation (start, end, subcommand) and runs the real cargo (as a child,
# not exec: the end time is logged after it exits).
s=$(date +%s.%N)
"$CARGO_MIGRATE_BENCH_REAL_CARGO" "$@"
rc=$?
printf '%s %s %s\\n' "$s" "$(date +%s.%N)" "$1" >> "$CARGO_MIGRATE_BENCH_CARGO_LOG"
exit $rc
"""


def tree_rss(root_pid):
    """The summed RSS (bytes) of root_pid and all its descendants, from /proc."""
    parent, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            parent[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue
    children = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def sweep(binary, repos, out, jobs, compiler, timeout):
    """One timed sweep; returns its measurements."""
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    cargo_log = out.with_name(out.name + ".cargo.log")
    cargo_log.unlink(missing_ok=True)
    real_cargo = shutil.which("cargo")
    env = {**os.environ, **QUIET, "CARGO": str(BENCH / "cargo-wrapper"),
           "CARGO_MIGRATE_BENCH_REAL_CARGO": real_cargo, "CARGO_MIGRATE_BENCH_CARGO_LOG": str(cargo_log)}
    env.pop("CARGO_TARGET_DIR", None)
    cmd = [str(binary), "migrate", "sweep", "--repos", str(repos), "--migration", "edition",
           "--out", str(out), "-j", str(jobs), "--llm", "none", "--timeout", str(timeout)]
    if not compiler:
        cmd.append("--no-compiler")
    time_file = out.with_name(out.name + ".time")
    use_time = Path("/usr/bin/time").is_file()
    full = (["/usr/bin/time", "-v", "-o", str(time_file)] if use_time else []) + cmd
    load_before = os.getloadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(full, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss(p.pid))
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, stderr = p.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = os.getloadavg()
    report_path = out / "report.json"
    if not report_path.is_file():
        sys.exit(f"the sweep left no report.json (exit {p.returncode}):\n{stderr[-2000:]}")
    report = json.loads(report_path.read_text())
    repos_done = report["repositories"]
    secs = sorted(r["seconds"] for r in repos_done)
    statuses = {}
    for r in repos_done:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    max_rss_kb = None
    if use_time and time_file.is_file():
        for line in time_file.read_text().splitlines():
            if "Maximum resident set size" in line:
                max_rss_kb = int(line.rsplit(":", 1)[1])
    else:
        max_rss_kb = ru1.ru_maxrss  # RUSAGE_CHILDREN: the largest single waited-for process
    cargo_secs, by_sub, calls = 0.0, {}, 0
    if cargo_log.is_file():
        for line in cargo_log.read_text().splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            d = float(parts[1]) - float(parts[0])
            sub = parts[2] if len(parts) > 2 else "?"
            cargo_secs += d
            calls += 1
            agg = by_sub.setdefault(sub, [0, 0.0])
            agg[0] += 1
            agg[1] += d
    n = len(repos_done)
    ws = sum(len(r.get("workspaces") or []) for r in repos_done)
    return {
        "jobs": jobs, "mode": "default" if compiler else "syntax-only", "repositories": n,
        "workspaces": ws, "exit": p.returncode, "statuses": statuses,
        "wall_seconds": round(wall, 2),
        "repos_per_minute": round(n / wall * 60, 1), "workspaces_per_minute": round(ws / wall * 60, 1),
        "median_seconds": round(statistics.median(secs), 2) if secs else None,
        "max_seconds": round(secs[-1], 2) if secs else None,
        "sum_repo_seconds": round(sum(secs), 2),
        "slowest": sorted(((r["seconds"], r["name"]) for r in repos_done), reverse=True)[:3],
        "max_rss_single_mb": round(max_rss_kb / 1024, 1) if max_rss_kb else None,
        "max_rss_source": "/usr/bin/time -v (largest single process)" if use_time else "getrusage(RUSAGE_CHILDREN) (largest single process)",
        "peak_tree_rss_mb": round(peak[0] / 2**20, 1),
        "cpu_seconds": round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 2),
        "cargo_calls": calls, "cargo_seconds": round(cargo_secs, 2),
        "cargo_share": round(cargo_secs / (wall * jobs), 3) if wall else None,
        "cargo_by_subcommand": {k: {"calls": v[0], "seconds": round(v[1], 2)} for k, v in sorted(by_sub.items())},
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
    }


def timed(cmd, cwd=None, env=None):
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def profile(binary, repos, n):
    """Where one syntax-only repository's time goes, each step timed alone on n repositories:
    process start, git worktree add + remove, `cargo metadata` (with and without
    dependencies), and the migration itself (`migrate edition --no-compiler`, which also runs
    cargo metadata) on a worktree."""
    env = {**os.environ, **QUIET}
    env.pop("CARGO", None)
    steps = {"process start (--version)": [], "git worktree add + remove": [],
             "cargo metadata --no-deps": [], "cargo metadata (resolved, offline)": [],
             "migrate edition --no-compiler (dry run)": []}
    sample = repos[:: max(1, len(repos) // n)][:n]
    for repo in sample:
        steps["process start (--version)"].append(timed([str(binary), "migrate", "--version"], env=env))
        with tempfile.TemporaryDirectory(prefix="sweep-bench-prof-") as tmp:
            wt = Path(tmp) / "work"
            t0 = time.perf_counter()
            subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(wt), "HEAD"], cwd=repo, check=True, capture_output=True)
            add = time.perf_counter() - t0
            steps["cargo metadata --no-deps"].append(timed(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=wt, env=env))
            steps["cargo metadata (resolved, offline)"].append(timed(["cargo", "metadata", "--offline", "--format-version", "1"], cwd=wt, env=env))
            steps["migrate edition --no-compiler (dry run)"].append(timed(
                [str(binary), "migrate", "edition", "--no-compiler", "--llm", "none", "--format", "json",
                 "--manifest-path", str(wt / "Cargo.toml")], env=env))
            t0 = time.perf_counter()
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=repo, check=True, capture_output=True)
            subprocess.run(["git", "worktree", "prune"], cwd=repo, check=True, capture_output=True)
            steps["git worktree add + remove"].append(add + time.perf_counter() - t0)
    return {"repositories": [r.name for r in sample],
            "median_seconds": {k: round(statistics.median(v), 3) for k, v in steps.items() if v}}


def table(runs, subset_note):
    cols = ["mode", "-j", "repos", "workspaces", "wall s", "repos/min", "workspaces/min",
            "median s/repo", "max s/repo", "peak RSS, one process", "peak RSS, tree (sampled)",
            "CPU s", "in cargo", "load before → after"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in runs:
        lines.append("| " + " | ".join(str(x) for x in [
            r["mode"] + (subset_note if r["mode"] == "default" and subset_note else ""), r["jobs"],
            r["repositories"], r["workspaces"], r["wall_seconds"], r["repos_per_minute"],
            r["workspaces_per_minute"], r["median_seconds"], r["max_seconds"],
            f'{r["max_rss_single_mb"]} MB', f'{r["peak_tree_rss_mb"]} MB', r["cpu_seconds"],
            f'{r["cargo_share"] * 100:.0f} % ({r["cargo_calls"]} calls)',
            f'{r["load_before"][0]} → {r["load_after"][0]}']) + " |")
    return "\n".join(lines)


def fetch(name, version):
    """The unpacked source of name-version under BENCH/src."""
    return fetch_into(name, version, BENCH / "src")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--jobs", default="1,2", help="comma-separated -j values (default 1,2)")
    ap.add_argument("--default-subset", type=int, default=0,
                    help="run default mode on N repositories, every (n/N)-th by size from the smallest (default: all)")
    ap.add_argument("--skip-default", action="store_true", help="syntax-only runs only")
    ap.add_argument("--repeat", type=int, default=1, help="syntax-only runs per -j (best wall time kept)")
    ap.add_argument("--profile-repos", type=int, default=6, help="repositories the per-step profile samples (0: none)")
    ap.add_argument("--timeout", type=int, default=900, help="--timeout per repository")
    ap.add_argument("--out", default=str(ROOT / "target" / "bench-sweep.json"))
    args = ap.parse_args()
    binary = Path(args.bin).resolve()
    if not binary.is_file():
        sys.exit(f"{binary} not found: build it first (cargo build --release --locked)")
    BENCH.mkdir(parents=True, exist_ok=True)
    if inside_a_git_tree(BENCH.resolve()):
        sys.exit(f"{BENCH} is inside a git work tree: the crates' build scripts could touch it "
                 "(set CARGO_MIGRATE_BENCH_DIR to a folder outside any repository)")
    wrapper = BENCH / "cargo-wrapper"
    wrapper.write_text(WRAPPER)
    wrapper.chmod(0o755)
    jobs = [int(j) for j in args.jobs.split(",")]

    # The corpus: one git repository per crate in BENCH/repos (the syntax-only sweeps take
    # the folder), and the list file of the subset default mode runs on.
    repos_dir = BENCH / "repos"
    repos_dir.mkdir(exist_ok=True)
    crates = []
    for name, version in corpus_list():
        try:
            src = fetch(name, version)
        except (subprocess.CalledProcessError, IndexError) as e:
            log(f"{name} {version}: fetch failed ({e}), left out")
            continue
        repo = make_repo(src, repos_dir)
        crates.append({"name": name, "version": version, "edition": edition(src / "Cargo.toml"),
                       "rust_lines": rust_lines(src), "repo": repo})
        log(f"{name:<18} {version:<9} edition {crates[-1]['edition']}  {crates[-1]['rust_lines']:>7} lines")
    wanted = {f"{c['name']}-{c['version']}" for c in crates}
    for stale in repos_dir.iterdir():
        if stale.name not in wanted:
            shutil.rmtree(stale)
    by_size = sorted(crates, key=lambda c: c["rust_lines"])
    subset = by_size
    subset_note = ""
    if args.default_subset and args.default_subset < len(crates):
        k = args.default_subset
        # A systematic sample by size: every (n/k)-th, from the smallest.
        subset = [by_size[i * len(by_size) // k] for i in range(k)]
        subset_note = f" ({k} of {len(crates)} repos)"
    default_list = BENCH / "repos-default.txt"
    default_list.write_text("".join(f"{c['repo']}\n" for c in subset))

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    runs = []
    for j in jobs:
        best = None
        for i in range(args.repeat):
            log(f"syntax-only -j {j} on {len(crates)} repositories (load {os.getloadavg()[0]:.2f})")
            r = sweep(binary, repos_dir, BENCH / "out" / f"syntax-j{j}-{i}", j, False, args.timeout)
            log(f"  {r['wall_seconds']} s, {r['repos_per_minute']} repos/min, {r['cargo_share']*100:.0f} % in cargo")
            best = r if best is None or r["wall_seconds"] < best["wall_seconds"] else best
        runs.append(best)
    if not args.skip_default:
        for j in jobs:
            log(f"default mode -j {j} on {len(subset)} repositories (load {os.getloadavg()[0]:.2f})")
            r = sweep(binary, default_list, BENCH / "out" / f"default-j{j}", j, True, args.timeout)
            r["subset"] = [c["repo"].name for c in subset]
            log(f"  {r['wall_seconds']} s, {r['repos_per_minute']} repos/min, {r['cargo_share']*100:.0f} % in cargo")
            runs.append(r)
    prof = profile(binary, [c["repo"] for c in by_size], args.profile_repos) if args.profile_repos else None

    md = table(runs, subset_note)
    print(md)
    print()
    print(f"{len(crates)} repositories ({sum(c['rust_lines'] for c in crates)} lines of Rust), "
          f"commit {commit}, {os.cpu_count()} cores, {datetime.date.today()}; "
          f"peak RSS of one process from {runs[0]['max_rss_source']}; the tree's sampled from /proc.")
    if subset_note:
        print(f"Default mode ran on {len(subset)} of the {len(crates)} repositories (--default-subset): "
              + ", ".join(c["repo"].name for c in subset) + ".")
    for r in runs:
        subs = ", ".join(f"{k} {v['calls']}× {v['seconds']} s" for k, v in r["cargo_by_subcommand"].items())
        print(f"- {r['mode']} -j {r['jobs']}: cargo {subs or 'not run'}; slowest "
              + ", ".join(f"{n} {s:.1f} s" for s, n in r["slowest"]))
    if prof:
        print(f"\nOne repository's steps alone (median of {len(prof['repositories'])}): "
              + "; ".join(f"{k} {v} s" for k, v in prof["median_seconds"].items()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": commit,
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "binary": str(binary), "bench_dir": str(BENCH),
        "crates": [{k: v for k, v in c.items() if k != "repo"} for c in crates],
        "default_subset": [c["repo"].name for c in subset],
        "runs": runs, "profile": prof,
    }, indent=2) + "\n")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()

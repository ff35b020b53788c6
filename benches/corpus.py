#!/usr/bin/env python3
"""Benchmark `cargo migrate edition` against `cargo fix --edition` on the corpus.

Usage:
    python3 benches/corpus.py [--corpus DIR] [--runs N] [--reuse-fix JSON] [CRATE-FILTER ...]
    python3 benches/corpus.py --report target/bench-corpus.json

Without --corpus, the corpus is fetched with shared/corpus/fetch.sh into
target/corpus-src. The corpus is never modified: every run works on fresh copies in a
temporary directory. Per crate, after an untimed `cargo fetch` (whose Cargo.lock every
copy gets, so all copies build the same dependency versions):

  * ours, syntax only (copy S): `cargo-migrate edition --no-compiler --format json`
    (dry run; best of N wall time, peak RSS), then `--apply`.
  * a baseline `cargo check` of a pristine copy with rustc's `--force-warn
    rust-2024-compatibility` for the crate's own code (RUSTC_WORKSPACE_WRAPPER), whose JSON
    diagnostics attribute cargo fix's edits to lints. It tries selections until one builds
    (all features first at each level of targets, see target_selections); that selection is
    every later command's: cargo fix's flags, ours through `our_flags`, the plain check's.
  * ours, full (the default: syntactic rules + the compiler phase + the judge, with
    `--llm none`, so no model server is involved), given that selection: cold = a dry run
    on a fresh copy F with an empty CARGO_TARGET_DIR (the compiler phase builds the
    dependencies); warm = a dry run on another fresh copy, its files touched, reusing that
    target dir (dependencies built, the crate itself compiled again — as in cargo fix's
    warm run, which always recompiles the crate); rerun = that copy again, untouched
    (nothing to compile: cargo replays its cached diagnostics); then `--apply --verify` on
    it (what verify adds), and `--apply` on F. `-v` gives each run's phase times.
  * one plain `cargo check` of the selection (no lints forced), cold and warm the same way;
    and the same with CARGO_INCREMENTAL=0: one type-check and nothing else, the floor of
    any tool that type-checks the code once.
  * `--warm-runs N`: N warm rounds of ours, the two plain checks and cargo fix, alternated on
    fresh copies; the medians are reported.
  * cargo fix (copy B): `cargo fix --edition --allow-no-vcs` cold (fresh target dir) and
    warm (another fresh copy, same target dir), then edition = "2024" in Cargo.toml and
    `cargo check`. With --reuse-fix JSON, the baseline (target selection, lints) and cargo
    fix's results (times, edits, compiles) of an earlier run are taken from that file
    instead; cargo fix's exact edited lines are rebuilt from the saved lint suggestions and
    verified against the saved excerpts (an edit that cannot be rebuilt is compared by its
    excerpt).
  * `cargo check` (the same target selection) of both our migrated copies.

Prints a Markdown report and writes everything to target/bench-corpus.json (or --out).
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FETCH = Path("/work/shared/corpus/fetch.sh")
# Target/feature selections, tried in order until the pristine crate builds; both tools
# then get the one that built (cargo fix its flags, ours the same through `our_flags`). The
# usual reasons for failing are nightly-only benches or features (crossbeam's `nightly`),
# tests that need features (nix's need most of its features, tokio's `full`), and test data
# the published package leaves out. At each level of targets: all features, then all
# features with the crate's lint levels capped at warn (rustc's `--cap-lints warn` for the
# crate's own units, through RUSTC_WORKSPACE_WRAPPER, in every later cargo command too,
# cargo fix included: nix denies `unused` and more, which a newer rustc trips over with
# every feature on; our wrapper caps them too), then `full` (when the crate has that
# feature), then the default features.
TARGET_LEVELS = [["--all-targets"], ["--lib", "--bins", "--tests", "--examples"], ["--lib", "--tests"], ["--lib"]]
CAP_LINTS = "--cap-lints=warn"  # a marker in a selection, not a cargo argument


def target_selections(manifest: Path) -> list[list[str]]:
    has_full = re.search(r"(?m)^full\s*=", manifest.read_text()) is not None
    feats = [[], ["--features", "full"]] if has_full else [[]]
    widest = [["--all-features"], ["--all-features", CAP_LINTS]]
    # All features first, as our tool's default tries them first and cargo fix's manual
    # advises for an edition migration; then `full`, then the default features.
    return [level + f for level in TARGET_LEVELS for f in widest + feats[::-1]]


def our_flags(sel: list[str]) -> list[str]:
    """The same selection for our tool: its target kinds (none: every target) and features.
    All features is its default (nothing to pass: the default mode as users run it; with
    its lints capped, as our wrapper caps them); the default features are
    `--default-features`, without which it would try all features first."""
    flags = [a for a in sel if a.startswith("--") and a not in ("--all-targets", "--all-features", "--features", CAP_LINTS)]
    if "--features" in sel:
        flags += ["--features", sel[sel.index("--features") + 1]]
    elif "--all-features" not in sel:
        flags.append("--default-features")
    return flags


def cargo_args(sel: list[str]) -> list[str]:
    return [a for a in sel if a != CAP_LINTS]


EDITION_LINT_GROUP = "rust-2024-compatibility"
# Written by cargo itself (resolution), not by either migration.
NOT_COMPARED = {"Cargo.lock"}
EXPR_LINT = "edition_2024_expr_fragment_specifier"


# ---------------------------------------------------------------------------------------
# processes


class Timeout(Exception):
    pass


def run(cmd, cwd=None, env=None, timeout=None, capture=True, stdin=subprocess.DEVNULL):
    """Runs cmd in its own process group; returns (returncode, stdout, stderr, seconds).
    Raises Timeout (after killing the group) when it takes longer than timeout."""
    full_env = dict(os.environ)
    full_env.update({"CARGO_TERM_COLOR": "never", "CARGO_TERM_PROGRESS_WHEN": "never"})
    if env:
        full_env.update(env)
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=full_env,
        stdin=stdin,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise Timeout(f"{' '.join(map(str, cmd))} took more than {timeout}s")
    return p.returncode, out or "", err or "", time.perf_counter() - t0


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def copy_crate(src: Path, dest: Path, lock: Path | None = None) -> Path:
    """A fresh copy of a crate; with lock, the Cargo.lock that `cargo fetch` resolved when
    the crate ships none, so every copy builds the same dependency versions (after the
    switch to 2024, rust-version 1.85 and resolver 3 would otherwise resolve anew)."""
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("target"))
    if lock is not None and lock.is_file() and not (dest / "Cargo.lock").exists():
        shutil.copy2(lock, dest / "Cargo.lock")
    return dest


def cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------------------------------
# file trees and diffs


def read_tree(root: Path) -> dict[str, list[str]]:
    """Text files of a crate copy, by relative path (lines with their endings)."""
    files = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        rel = p.relative_to(root).as_posix()
        if rel.startswith("target/") or rel in NOT_COMPARED:
            continue
        try:
            files[rel] = p.read_text(encoding="utf-8").splitlines(keepends=True)
        except (UnicodeDecodeError, OSError):
            continue
    return files


def line_ops(before: dict[str, list[str]], after: dict[str, list[str]]):
    """Changed regions with no context, per file: {file: [(i1, i2, new_lines)]}, where
    i1..i2 is the 0-based range of original lines replaced by new_lines."""
    ops = {}
    for f in sorted(set(before) | set(after)):
        a, b = before.get(f, []), after.get(f, [])
        if a == b:
            continue
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        regions = [(i1, i2, b[j1:j2]) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]
        if regions:
            ops[f] = regions
    return ops


def excerpt(lines, limit=110):
    s = " ⏎ ".join(l.strip() for l in lines if l.strip())
    return s if len(s) <= limit else s[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------
# cargo helpers


def set_edition_2024(manifest: Path) -> list[str]:
    """What a user does after `cargo fix --edition`: edition = "2024" in [package], and
    rust-version raised to 1.85 when lower. Returns what was changed."""
    text = manifest.read_text()
    done = []
    pkg = re.search(r"(?ms)^\[package\]\s*$(.*?)(?=^\[|\Z)", text)
    if not pkg:
        return done
    body = pkg.group(1)
    new_body, n = re.subn(r'(?m)^(edition\s*=\s*)"20\d\d"', r'\g<1>"2024"', body, count=1)
    if n:
        done.append('edition = "2024"')
    m = re.search(r'(?m)^(rust-version\s*=\s*)"(\d+)\.(\d+)(?:\.\d+)?"', new_body)
    if m and (int(m.group(2)), int(m.group(3))) < (1, 85):
        new_body = new_body[: m.start()] + f'{m.group(1)}"1.85"' + new_body[m.end():]
        done.append(f'rust-version {m.group(2)}.{m.group(3)} -> 1.85')
    manifest.write_text(text[: pkg.start(1)] + new_body + text[pkg.end(1):])
    return done


def first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("error"):
            return line.strip()[:300]
    tail = [l for l in stderr.splitlines() if l.strip()]
    return (tail[-1].strip() if tail else "")[:300]


def parse_check_json(stdout: str, root: Path):
    """Compiler messages of a `cargo check --message-format json` run: (errors, lints)
    where lints are rust-2024-compatibility warnings on the crate's own files, deduplicated
    across targets, each with the line ranges of its suggestions."""
    errors, lints, seen, seen_errors = [], [], set(), set()
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") != "compiler-message":
            continue
        d = msg["message"]
        if d.get("level") == "error":
            if d.get("message", "").startswith("aborting due to"):
                continue
            prim = next((s for s in d.get("spans", []) if s.get("is_primary")), None)
            err = {"message": d.get("message", ""), "code": (d.get("code") or {}).get("code"),
                   "file": prim["file_name"] if prim else None, "line": prim["line_start"] if prim else None,
                   "target": msg.get("target", {}).get("name"), "rendered": (d.get("rendered") or "").strip()[:1500]}
            key = (err["message"], err["file"], err["line"])
            if key not in seen_errors:
                seen_errors.add(key)
                errors.append(err)
            continue
        code = lint_name(d)
        if not code:
            continue
        prim = next((s for s in d.get("spans", []) if s.get("is_primary")), None)
        if prim is None or os.path.isabs(prim["file_name"]):
            continue
        sugg = []

        def walk(node):
            for s in node.get("spans", []):
                if s.get("suggested_replacement") is not None and not os.path.isabs(s["file_name"]):
                    sugg.append({
                        "file": s["file_name"], "line_start": s["line_start"], "line_end": s["line_end"],
                        "byte_start": s["byte_start"], "byte_end": s["byte_end"],
                        "replacement": s["suggested_replacement"], "applicability": s.get("suggestion_applicability"),
                    })
            for c in node.get("children", []):
                walk(c)

        walk(d)
        key = (code, prim["file_name"], prim["line_start"], prim["column_start"], d.get("message"))
        if key in seen:
            continue
        seen.add(key)
        lints.append({
            "lint": code, "file": prim["file_name"], "line": prim["line_start"], "line_end": prim["line_end"],
            "message": d.get("message", ""), "suggestions": sugg,
            "edition_lint": code in edition_lints(),
            "machine_applicable": any(s["applicability"] == "MachineApplicable" for s in sugg),
        })
    return errors, lints


LINT_LEVEL_NOTE = re.compile(r"`(?:--force-warn|-[WD]|#\[(?:warn|deny|forbid)\()\s*([a-z0-9_-]+)")


def lint_name(d: dict) -> str | None:
    """The lint of a warning: its code, unless that is an error code like E0133 (as for
    unsafe_op_in_unsafe_fn), then the lint named in its level note."""
    if d.get("level") != "warning":
        return None
    code = (d.get("code") or {}).get("code")
    if code and not re.fullmatch(r"E\d{4}", code):
        return code
    for c in d.get("children", []):
        m = LINT_LEVEL_NOTE.search(c.get("message", ""))
        if m:
            CODE_TO_LINT[code] = m.group(1).replace("-", "_")
            return CODE_TO_LINT[code]
    # rustc prints the level note once per lint and crate; later ones only have the code.
    return CODE_TO_LINT.get(code, code)


# Error codes that, on a warning, stand for a lint (filled as notes are seen).
CODE_TO_LINT = {"E0133": "unsafe_op_in_unsafe_fn"}


EDITION_LINTS_CACHE: set[str] | None = None


def edition_lints() -> set[str]:
    """Names of the lints in the rust-2024-compatibility group (from `rustc -W help`)."""
    global EDITION_LINTS_CACHE
    if EDITION_LINTS_CACHE is None:
        _, out, _, _ = run(["rustc", "-W", "help"])
        names = set()
        for line in out.splitlines():
            parts = line.split(None, 1)
            if parts and parts[0] == EDITION_LINT_GROUP and len(parts) > 1:
                names = {n.strip().replace("-", "_") for n in parts[1].split(",")}
        EDITION_LINTS_CACHE = names
    return EDITION_LINTS_CACHE


def write_wrapper(dest: Path, name: str, flags: list[str]) -> Path:
    """A RUSTC_WORKSPACE_WRAPPER that adds flags to the crate's own compilations
    (dependencies are untouched, so their builds are shared)."""
    w = dest / name
    w.write_text('#!/bin/sh\nrustc="$1"; shift\nexec "$rustc" "$@" ' + " ".join(flags) + "\n")
    w.chmod(0o755)
    return w


# ---------------------------------------------------------------------------------------
# the tool


def build_tool() -> Path:
    log("cargo build --release (cargo-migrate)")
    rc, out, err, secs = run(["cargo", "build", "--release", "--message-format", "json"], cwd=REPO)
    if rc != 0:
        sys.exit(f"cargo build --release failed:\n{err}")
    exe = None
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "cargo-migrate":
            exe = msg["executable"]
    if not exe:
        sys.exit("cannot locate the cargo-migrate binary in cargo's output")
    log(f"binary: {exe} (built in {secs:.1f}s)")
    return Path(exe)


def tool_commit() -> str:
    rc, out, _, _ = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    rc2, st, _, _ = run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"])
    return (out.strip() if rc == 0 else "?") + (" (src modified)" if rc2 == 0 and st.strip() else "")


def peak_rss_kb(cmd, cwd, env) -> tuple[int | None, str]:
    """Peak RSS of one run of cmd, in KiB, and how it was measured."""
    gnu_time = shutil.which("time", path="/usr/bin") or None
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
            run([gnu_time, "-v", "-o", f.name, *cmd], cwd=cwd, env=env)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(f.name).read_text())
            if m:
                return int(m.group(1)), "/usr/bin/time -v"
    # Fallback: ru_maxrss of the children is the max over all children so far.
    run(cmd, cwd=cwd, env=env)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "getrusage(RUSAGE_CHILDREN) (max over children so far)"


def own_hwm_kb(cmd, cwd, env) -> int | None:
    """Peak RSS of the tool's own process (not its `cargo metadata` child): VmHWM of
    /proc/PID/status sampled every millisecond while it runs (a lower bound)."""
    p = subprocess.Popen(cmd, cwd=cwd, env=dict(os.environ) | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hwm = None
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm or 0, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.001)
    return hwm


def tool_cmd(exe: Path, copy: Path, *extra: str) -> list[str]:
    return [str(exe), "edition", "--llm", "none", *extra, "--manifest-path", str(copy / "Cargo.toml")]


def dry_run(exe: Path, copy: Path, extra: list[str], target_dir: Path, timeout: int) -> dict:
    """One `--format json` dry run: exit code, wall and CPU time (children included:
    `cargo metadata`, and for the full mode cargo and every rustc), the parsed document."""
    cpu0 = cpu_children()
    rc, out, err, secs = run(tool_cmd(exe, copy, "--format", "json", *extra), cwd=copy,
                             env={"CARGO_TARGET_DIR": str(target_dir)}, timeout=timeout)
    cpu = cpu_children() - cpu0
    doc = None
    if out.strip().startswith("{"):
        try:
            doc = json.loads(out)
        except json.JSONDecodeError:
            pass
    return {"rc": rc, "secs": secs, "cpu": cpu, "doc": doc, "stderr": err}


def phase_times(stderr: str) -> dict:
    """The tool's own account of where a run's time went (`-v`: `phase times: syntactic
    pass 0.301 s, compiler phase 0.512 s (cargo 0.498 s), judge 0.010 s, plan 0.020 s`)."""
    m = re.search(r"phase times: (.*)", stderr)
    if not m:
        return {}
    out = {}
    for key, pattern in (("syntax_s", r"syntactic pass ([\d.]+) s"), ("compiler_s", r"compiler phase ([\d.]+) s"), ("cargo_s", r"\(cargo ([\d.]+) s\)"),
                         ("judge_s", r"judge ([\d.]+) s"), ("plan_s", r"plan ([\d.]+) s")):
        v = re.search(pattern, m.group(1))
        if v:
            out[key] = float(v.group(1))
    return out


def summarize(doc: dict) -> dict:
    """What the report needs from our JSON document."""
    s = doc["summary"]
    changes = doc["changes"]
    res = {
        "files_read": s["files_read"], "lines_read": s["lines_read"], "changes": len(changes),
        "by_rule": s["by_rule"], "by_safety": s.get("by_safety", {}),
        "cfg_inactive": sum(1 for c in changes if c["cfg"] != "active"), "cfg_inactive_by_rule": {},
        "changes_list": [{k: c[k] for k in ("rule", "file", "line", "cfg", "safety", "reason")}
                         | {"decided_by": c["decided_by"].get("kind"), "ranges": [[e["range"]["start"], e["range"]["end"]] for e in c["edits"]]}
                         for c in changes],
        "verdicts": doc.get("verdicts", []), "diagnostics": doc.get("diagnostics", []),
        "unchanged": doc.get("unchanged", []),
    }
    for c in changes:
        if c["cfg"] != "active":
            res["cfg_inactive_by_rule"][c["rule"]] = res["cfg_inactive_by_rule"].get(c["rule"], 0) + 1
    configs = sorted({c["decided_by"].get("name") for c in changes if c["decided_by"].get("kind") == "compiler"} - {None})
    res["compiler_config"] = ", ".join(configs) or None
    res["compiler_notes"] = [d["message"] for d in res["diagnostics"] if d.get("file") is None and "compiler phase" in d["message"]]
    res["compiler_skipped"] = next((n for n in res["compiler_notes"] if n.startswith("compiler phase skipped")), None)
    res["expr_kept_note"] = next((d["message"] for d in res["diagnostics"] if "fragment(s) kept" in d["message"]), None)
    return res


def apply_copy(exe: Path, copy: Path, extra: list[str], target_dir: Path, timeout: int) -> dict:
    rc, _, err, secs = run(tool_cmd(exe, copy, "--apply", "--allow-no-vcs", *extra), cwd=copy,
                           env={"CARGO_TARGET_DIR": str(target_dir)}, timeout=timeout)
    res = {"apply_rc": rc, "apply_s": secs}
    if rc != 0:
        res["apply_error"] = err.strip()[-600:]
    return res


def bench_syntax(exe: Path, crate: Path, work: Path, runs: int, quick: bool, lock: Path | None, timeout: int):
    """Syntax only (`--no-compiler`): best of `runs` dry runs, peak RSS, then --apply."""
    s = copy_crate(crate, work / "S" / crate.name, lock)
    target = work / "target-syntax"  # nothing is built; set so no outer CARGO_TARGET_DIR leaks in
    extra = ["--no-compiler"]
    runs_ = [dry_run(exe, s, extra, target, timeout) for _ in range(runs)]
    best = min(runs_, key=lambda r: r["secs"])
    res = {"time_s": best["secs"], "times_s": [r["secs"] for r in runs_], "cpu_s": min(r["cpu"] for r in runs_), "rc": best["rc"]}
    if best["doc"] is None:
        res["error"] = f"exit {best['rc']}: {best['stderr'].strip()[-600:]}"
        return res, s
    if best["rc"] != 0:
        res["error"] = f"exit {best['rc']}: {first_error(best['stderr']) or best['stderr'].strip()[-300:]}"
    res.update(summarize(best["doc"]))
    cmd = tool_cmd(exe, s, "--format", "json", *extra)
    env = {"CARGO_TARGET_DIR": str(target)}
    res["peak_rss_kb"], res["rss_method"] = peak_rss_kb(cmd, s, env)
    res["own_rss_kb"] = own_hwm_kb(cmd, s, env)
    if not quick:
        res |= apply_copy(exe, s, extra, target, timeout)
    return res, s


def bench_full(exe: Path, crate: Path, work: Path, lock: Path | None, timeout: int, extra: list[str]):
    """The default mode with `--llm none`: cold (fresh copy, empty target dir), warm
    (another fresh copy, same target dir), rerun (the warm copy again), then --apply on
    the cold copy. Returns the results, the applied copy and the target dir."""
    target = work / "target-ours"
    f = copy_crate(crate, work / "F" / crate.name, lock)
    res: dict = {}
    # -v: the tool logs each `cargo check` it runs (a second one when the first, with
    # --all-features, left a target unbuilt).
    cold = dry_run(exe, f, ["-v", *extra], target, timeout)
    f2 = copy_crate(crate, work / "F2" / crate.name, lock)
    touch_all(f2)
    warm = dry_run(exe, f2, ["-v", *extra], target, timeout)
    rerun = dry_run(exe, f2, ["-v", *extra], target, timeout)
    # Peak memory of our own process (not cargo's, not rustc's), on one more re-run.
    res["own_rss_kb"] = own_hwm_kb(tool_cmd(exe, f2, "--format", "json", *extra), f2, {"CARGO_TARGET_DIR": str(target)})
    for label, run_ in (("cold", cold), ("warm", warm), ("rerun", rerun)):
        res[f"{label}_phases"] = phase_times(run_["stderr"])
    # What --verify adds: the warm copy, its messages cached, applied and verified (one
    # `cargo check` of the migrated code, plain, when it builds), against its re-run.
    rc, _, err, secs = run(tool_cmd(exe, f2, "--apply", "--verify", "--allow-no-vcs", "-v", *extra), cwd=f2,
                           env={"CARGO_TARGET_DIR": str(target)}, timeout=timeout)
    res["verify"] = {"rc": rc, "secs": secs, "checks": sum(1 for l in err.splitlines() if "running" in l and '"check"' in l),
                     "reverted": "reverted" in err}
    res["cargo_checks"] = sum(1 for l in cold["stderr"].splitlines() if "running" in l and '"check"' in l)
    res["rerun_checks"] = sum(1 for l in rerun["stderr"].splitlines() if "running" in l and '"check"' in l)
    res.update({"cold_s": cold["secs"], "cold_cpu_s": cold["cpu"], "warm_s": warm["secs"], "warm_cpu_s": warm["cpu"],
                "rerun_s": rerun["secs"], "rerun_cpu_s": rerun["cpu"], "rc": cold["rc"]})
    if cold["doc"] is None:
        res["error"] = f"exit {cold['rc']}: {cold['stderr'].strip()[-600:]}"
        return res, f, target
    if cold["rc"] != 0:
        res["error"] = f"exit {cold['rc']}: {first_error(cold['stderr']) or cold['stderr'].strip()[-300:]}"
    res.update(summarize(cold["doc"]))
    # The three runs should agree; if not, say so (e.g. a target that failed only once).
    def key(doc):
        return None if doc is None else [(c["rule"], c["file"], c["line"], c["edits"]) for c in doc["changes"]]
    res["runs_agree"] = key(cold["doc"]) == key(warm["doc"]) == key(rerun["doc"])
    res |= apply_copy(exe, f, extra, target, timeout)
    return res, f, target


# ---------------------------------------------------------------------------------------
# one crate


def run_full(exe: Path, crate: Path, work: Path, lock: Path | None, args, r: dict, sel: list[str] | None):
    """Our default mode (`bench_full`) given the baseline's selection (`our_flags`), or no
    flags when no selection built."""
    flags = args.full_args.split() + (our_flags(sel) if sel else [])
    log(f"{crate.name}: cargo-migrate full (cold, warm, rerun){' ' + ' '.join(flags) if flags else ''}")
    full, f_copy, ours_target = bench_full(exe, crate, work, lock, args.timeout, flags)
    full["flags"] = flags
    r["ours_full"] = full
    return full, f_copy, ours_target


def warm_rounds(exe: Path, crate: Path, work: Path, lock: Path | None, sel: list[str], cap: Path | None, full: dict, plain: dict, fix: dict, args):
    """More warm runs of the four (ours, one plain `cargo check`, the same without
    incremental state, cargo fix), one of each per round on fresh copies in their own
    target directories, so that each ratio is of medians taken under the same load. The
    first round is the one already run."""
    fix_cmd, fix_env = cargo_fix_invocation(sel, cap, work)
    ours_w, plain_w, floor_w, fix_w = [full["warm_s"]], [plain["warm_s"]], [plain["floor_warm_s"]], [fix["warm_s"]]
    phase_w = [full.get("warm_phases", {}).get("compiler_s")]
    for i in range(1, args.warm_runs):
        f = copy_crate(crate, work / f"F2-{i}" / crate.name, lock)
        touch_all(f)
        run_ = dry_run(exe, f, ["-v", *full["flags"]], work / "target-ours", args.timeout)
        ours_w.append(run_["secs"])
        phase_w.append(phase_times(run_["stderr"]).get("compiler_s"))
        c = copy_crate(crate, work / f"C2-{i}" / crate.name, lock)
        touch_all(c)
        chk, _ = cargo_check(c, sel, work / "target-plain", args.timeout, cap)
        plain_w.append(chk["secs"])
        n = copy_crate(crate, work / f"N2-{i}" / crate.name, lock)
        touch_all(n)
        chk, _ = cargo_check(n, sel, work / "target-floor", args.timeout, cap, incremental=False)
        floor_w.append(chk["secs"])
        b = copy_crate(crate, work / f"B2-{i}" / crate.name, lock)
        _, _, _, secs = run([*fix_cmd, str(b / "Cargo.toml")], cwd=b, env=fix_env, timeout=args.fix_timeout)
        fix_w.append(secs)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    full["warm_runs_s"], plain["warm_runs_s"], plain["floor_warm_runs_s"], fix["warm_runs_s"] = ours_w, plain_w, floor_w, fix_w
    full["warm_s"], plain["warm_s"], plain["floor_warm_s"], fix["warm_s"] = med(ours_w), med(plain_w), med(floor_w), med(fix_w)
    phases = [p for p in phase_w if p is not None]
    if phases:
        full.setdefault("warm_phases", {})["compiler_s"] = med(phases)


def touch_all(root: Path):
    """copytree keeps mtimes, and cargo's fingerprints of a path package are relative:
    without this, cargo would take a copy as already compiled and only replay its
    diagnostics."""
    now = time.time()
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            os.utime(p, (now, now))


def plain_check(crate: Path, work: Path, sel: list[str], lock: Path | None, cap: Path | None, timeout: int) -> dict:
    """One plain `cargo check` of the selection (no lints forced, nothing else): cold on
    a fresh copy and target dir, then warm on another copy (dependencies built, the crate
    compiled again), as our full mode's cold and warm runs are. What the compiler phase is
    measured against.

    The same again without incremental state (`CARGO_INCREMENTAL=0`, its own target dir):
    one type-check of the crate and nothing else, the least that any tool which
    type-checks the code once can spend (`floor_cold_s`, `floor_warm_s`)."""
    out = {}
    for prefix, tag, incremental in (("", "C", True), ("floor_", "N", False)):
        target = work / f"target-{'plain' if incremental else 'floor'}"
        cold, _ = cargo_check(copy_crate(crate, work / f"{tag}1" / crate.name, lock), sel, target, timeout, cap, incremental)
        c2 = copy_crate(crate, work / f"{tag}2" / crate.name, lock)
        touch_all(c2)
        warm, _ = cargo_check(c2, sel, target, timeout, cap, incremental)
        out |= {f"{prefix}cold_s": cold["secs"], f"{prefix}warm_s": warm["secs"], f"{prefix}ok": cold["ok"] and warm["ok"]}
        out["first_error"] = out.get("first_error") or cold["first_error"] or warm["first_error"]
    return out


def cargo_check(copy: Path, sel: list[str], target_dir: Path, timeout: int, wrapper: Path | None = None, incremental: bool = True):
    env = {"CARGO_TARGET_DIR": str(target_dir)}
    if not incremental:
        env["CARGO_INCREMENTAL"] = "0"
    if wrapper:
        env["RUSTC_WORKSPACE_WRAPPER"] = str(wrapper)
    rc, out, err, secs = run(["cargo", "check", *cargo_args(sel), "--message-format", "json", "--manifest-path", str(copy / "Cargo.toml")],
                             cwd=copy, env=env, timeout=timeout)
    errors, lints = parse_check_json(out, copy)
    return {"ok": rc == 0, "rc": rc, "secs": secs, "errors": errors,
            "first_error": "" if rc == 0 else (errors[0]["message"] if errors else first_error(err)),
            "stderr_tail": "" if rc == 0 else err.strip()[-1500:]}, lints


def check_summary(chk: dict) -> dict:
    return {k: chk[k] for k in ("secs", "first_error", "stderr_tail")} | {"n_errors": len(chk["errors"]), "errors": chk["errors"][:40]}


def bench_crate(exe: Path, crate: Path, args, saved: dict | None) -> dict:
    name = crate.name
    r: dict = {"crate": name, "notes": [], "loadavg_at_start": os.getloadavg()}
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=args.work_dir))
    try:
        lock = None
        if not args.quick:
            # Dependencies, untimed.
            fetch_dir = copy_crate(crate, work / "fetch" / name)
            rc, _, err, secs = run(["cargo", "fetch", "--manifest-path", str(fetch_dir / "Cargo.toml")], cwd=fetch_dir, timeout=args.timeout)
            r["fetch"] = {"ok": rc == 0, "secs": secs, "error": "" if rc == 0 else first_error(err)}
            lock = fetch_dir / "Cargo.lock"
        log(f"{name}: cargo-migrate --no-compiler (dry run x{args.runs})")
        syntax, s_copy = bench_syntax(exe, crate, work, args.runs, args.quick, lock, args.timeout)
        r["ours"] = syntax  # the syntax-only mode keeps the old key
        if args.quick:
            return r
        pristine = read_tree(crate)

        # Baseline: which target selection compiles before any migration; edition lints.
        if saved is not None:
            sel = saved["targets"].split() if saved.get("targets") else None
            lints = saved.get("edition_lints", [])
            r["baseline_tries"] = saved.get("baseline_tries", [])
            r["notes"] += [n for n in saved.get("notes", []) if n.startswith("baseline fails") or n.startswith("does not compile")]
            r["reused_from"] = args.reuse_fix_path
            if sel is None:
                r["targets"] = None
                run_full(exe, crate, work, lock, args, r, None)
                return r
        else:
            log(f"{name}: baseline cargo check")
            base_target = work / "target-base"
            lint_wrapper = write_wrapper(work, "rustc-edition-lints.sh", [f"--force-warn={EDITION_LINT_GROUP}"])
            capped_lint_wrapper = write_wrapper(work, "rustc-edition-lints-capped.sh", [f"--force-warn={EDITION_LINT_GROUP}", CAP_LINTS])
            base = None
            for sel in target_selections(crate / "Cargo.toml"):
                p = copy_crate(crate, work / f"P{len(r.get('baseline_tries', []))}" / name, lock)
                chk, lints = cargo_check(p, sel, base_target, args.timeout, capped_lint_wrapper if CAP_LINTS in sel else lint_wrapper)
                r.setdefault("baseline_tries", []).append({"targets": " ".join(sel), **{k: chk[k] for k in ("ok", "secs", "first_error")}})
                if chk["ok"]:
                    base = (sel, lints)
                    break
                log(f"{name}: baseline {' '.join(sel)} fails: {chk['first_error']}")
            if base is None:
                r["targets"] = None
                r["notes"].append("does not compile before migration with any target selection: no cargo comparison")
                run_full(exe, crate, work, lock, args, r, None)
                return r
            sel, lints = base
            if not r["baseline_tries"][0]["ok"]:
                r["notes"].append(f"baseline fails with --all-targets ({r['baseline_tries'][0]['first_error']}); used {' '.join(sel)}")
        r["targets"] = " ".join(sel)
        r["edition_lints"] = lints
        # Later checks and cargo fix: the crate's lints capped too, if the baseline needed it.
        cap = write_wrapper(work, "rustc-capped.sh", [CAP_LINTS]) if CAP_LINTS in sel else None
        full, f_copy, ours_target = run_full(exe, crate, work, lock, args, r, sel)
        log(f"{name}: plain cargo check (cold, warm)")
        r["plain_check"] = plain_check(crate, work, sel, lock, cap, args.timeout)

        # Ours: do the applied copies compile (reusing the compiler phase's dependency builds).
        for res, copy, label in ((full, f_copy, "full"), (syntax, s_copy, "syntax only")):
            if res.get("apply_rc") == 0:
                log(f"{name}: cargo check of our migrated copy ({label})")
                chk, after = cargo_check(copy, sel, ours_target, args.timeout, cap)
                res["compiles"] = chk["ok"]
                res["check"] = check_summary(chk)
                # Edition-2024 lints still firing on the migrated code (e.g. an unsafe operation
                # in an `unsafe fn` that no change wrapped: a warning by default in 2024).
                res["remaining_lints"] = [{k: l[k] for k in ("lint", "file", "line", "message")} for l in after if l["edition_lint"]]
            else:
                res["compiles"] = None
        ours_ops = {"full": line_ops(pristine, read_tree(f_copy)), "syntax": line_ops(pristine, read_tree(s_copy))}
        full["hunks"] = sum(len(v) for v in ours_ops["full"].values())
        syntax["hunks"] = sum(len(v) for v in ours_ops["syntax"].values())

        # cargo fix: reused, or cold then warm.
        if saved is not None and saved.get("cargo_fix", {}).get("cold_s") is not None:
            fix = {k: v for k, v in saved["cargo_fix"].items() if k not in ("edits", "hunks_by_lint", "missing_by_lint")}
            fix["reused"] = True
            fix_edits = saved_fix_edits(saved["cargo_fix"], lints, crate, pristine)
            r["cargo_fix"] = fix
            r["fix_manifest_edit"] = saved.get("fix_manifest_edit")
        else:
            fix = {}
            r["cargo_fix"] = fix
            if args.skip_fix and any(s in name for s in args.skip_fix):
                r["notes"].append("cargo fix skipped (--skip-fix)")
                return r
            fix_ops = run_cargo_fix(crate, work, sel, cap, lock, args, r, fix)
            if fix_ops is None:
                return r
            fix_edits = group_fix_edits(fix_ops, lints, pristine)
            fix["unfixed_lints"] = unfixed(lints, fix_ops)
            if args.warm_runs > 1:
                log(f"{name}: {args.warm_runs - 1} more warm round(s): ours, plain cargo check, cargo fix")
                warm_rounds(exe, crate, work, lock, sel, cap, full, r["plain_check"], fix, args)
        fix["edits"] = compare(fix_edits, ours_ops, pristine)
        explain(fix["edits"], full, crate)
        fix["hunks_by_lint"] = count_by(fix["edits"], "lint")
        fix["missing_by_lint"] = count_by([e for e in fix["edits"] if e["ours"] != "same"], "lint")
        r["ours_only"] = ours_only(ours_ops["full"], fix["edits"], full.get("changes_list", []), pristine, fix)
        return r
    except Timeout as e:
        r["notes"].append(f"timeout: {e}")
        return r
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            r["work_dir"] = str(work)


def cargo_fix_invocation(sel: list[str], cap: Path | None, work: Path) -> tuple[list[str], dict]:
    """`cargo fix --edition` of the selection (the manifest path to append) and its
    environment: its own target directory, the crate's lints capped if the baseline
    needed it. Every cargo fix run of a crate, cold and warm, is this one."""
    cmd = ["cargo", "fix", "--edition", "--allow-no-vcs", *cargo_args(sel), "--manifest-path"]
    return cmd, {"CARGO_TARGET_DIR": str(work / "target-fix")} | ({"RUSTC_WORKSPACE_WRAPPER": str(cap)} if cap else {})


def run_cargo_fix(crate, work, sel, cap, lock, args, r, fix):
    """cargo fix cold, then warm on another copy; edition 2024 and cargo check on the cold
    copy. Returns cargo fix's line regions, or None if it could not run."""
    name = crate.name
    pristine = read_tree(crate)
    fix_target = work / "target-fix"
    b = copy_crate(crate, work / "B" / name, lock)
    fix_cmd, fix_env = cargo_fix_invocation(sel, cap, work)
    log(f"{name}: cargo fix --edition (cold)")
    try:
        rc, _, err, secs = run([*fix_cmd, str(b / "Cargo.toml")], cwd=b, env=fix_env, timeout=args.fix_timeout)
    except Timeout as e:
        fix["error"] = str(e)
        r["notes"].append(f"cargo fix skipped: took more than {args.fix_timeout}s")
        return None
    fix.update({"cold_s": secs, "rc": rc, "ok": rc == 0, "error": "" if rc == 0 else first_error(err)})
    fix["stderr_fixed"] = parse_fix_stderr(err)
    fix["stderr_tail"] = err.strip()[-3000:]
    if rc != 0:
        r["notes"].append(f"cargo fix failed: {fix['error']}")
    b2 = copy_crate(crate, work / "B2" / name, lock)
    log(f"{name}: cargo fix --edition (warm)")
    try:
        rc2, _, err2, secs2 = run([*fix_cmd, str(b2 / "Cargo.toml")], cwd=b2, env=fix_env, timeout=args.fix_timeout)
        fix["warm_s"] = secs2
        fix["warm_ok"] = rc2 == 0
    except Timeout as e:
        fix["warm_error"] = str(e)
    fix_ops = line_ops(pristine, read_tree(b))
    fix["hunks"] = sum(len(v) for v in fix_ops.values())
    fix["hunks_by_file"] = {f: len(v) for f, v in fix_ops.items()}
    # cargo fix's result on edition 2024.
    r["fix_manifest_edit"] = set_edition_2024(b / "Cargo.toml")
    log(f"{name}: cargo check of cargo fix's copy on edition 2024")
    chk, _ = cargo_check(b, sel, fix_target, args.timeout, cap)
    fix["compiles"] = chk["ok"]
    fix["check"] = check_summary(chk)
    return fix_ops


def parse_fix_stderr(err: str) -> dict:
    """`Migrating F from 2021 edition to 2024` and `Fixed F (N fixes)` lines of cargo fix."""
    migrating = re.findall(r"Migrating (\S+) from (\d+) edition to (\d+)", err)
    fixed = {}
    for f, n in re.findall(r"Fixed (\S+) \((\d+) fix", err):
        fixed[f] = fixed.get(f, 0) + int(n)
    return {"migrating": sorted({m[0] for m in migrating}), "fixed": fixed, "total": sum(fixed.values())}


# ---------------------------------------------------------------------------------------
# cargo fix's edits, and ours against them


def suggestion_groups(lints):
    """The suggestions cargo fix may apply, one group per distinct fix: the
    machine-applicable suggestions of a diagnostic (several diagnostics can share one fix,
    e.g. every unsafe operation of a function wrapped by one `unsafe {}`)."""
    groups = {}
    for l in lints:
        sugg = [s for s in l["suggestions"] if s["applicability"] == "MachineApplicable"]
        if not sugg:
            continue
        key = (l["lint"], tuple(sorted((s["file"], s["byte_start"], s["byte_end"], s["replacement"]) for s in sugg)))
        groups.setdefault(key, {"lint": l["lint"], "edition_lint": l["edition_lint"], "suggestions": sugg, "message": l["message"]})
    # Edition lints first, so a line two lints touch is counted for the edition one.
    return sorted(groups.values(), key=lambda g: not g["edition_lint"])


def overlaps(lo, hi, i1, i2):
    """1-based inclusive lines lo..hi against the 0-based half-open region i1..i2 (an
    insertion, i1 == i2, sits at line i1 + 1)."""
    return lo <= max(i2, i1 + 1) and hi >= i1 + 1


def group_fix_edits(fix_ops, lints, pristine):
    """cargo fix's changes as edits: its changed line regions, grouped by the lint
    suggestion they come from (regions no suggestion explains stay one edit each, as
    `(manifest)` for Cargo.toml or `(unattributed)`). Each region is (i1, i2, new lines)."""
    groups = suggestion_groups(lints)
    edits = {}
    for f, regions in fix_ops.items():
        for i1, i2, new in regions:
            g = next((k for k, g in enumerate(groups)
                      if any(s["file"] == f and overlaps(s["line_start"], s["line_end"], i1, i2) for s in g["suggestions"])), None)
            if g is None:
                key, lint = ("region", f, i1), "(manifest)" if f.endswith("Cargo.toml") else "(unattributed)"
            else:
                key, lint = ("group", g), groups[g]["lint"]
            e = edits.setdefault(key, {"file": f, "line": i1 + 1, "lint": lint, "regions": [], "new": []})
            e["regions"].append([i1 + 1, i2])
            e["new"].append(list(new))
    out = []
    for e in edits.values():
        e["before"] = " … ".join(excerpt(pristine.get(e["file"], [])[a - 1:b]) for a, b in e["regions"])
        e["after"] = " … ".join(excerpt(n) for n in e["new"])
        out.append(e)
    return sorted(out, key=lambda e: (e["file"], e["line"]))


def replay_suggestions(crate: Path, lints) -> dict[str, list[str]]:
    """The files cargo fix would write if it applied every machine-applicable suggestion
    of the baseline lints once (non-overlapping, edition lints first): what rustfix does."""
    subs = {}
    for g in suggestion_groups(lints):
        for s in g["suggestions"]:
            subs.setdefault(s["file"], set()).add((s["byte_start"], s["byte_end"], s["replacement"]))
    out = {}
    for f, edits in subs.items():
        p = crate / f
        if not p.is_file():
            continue
        data, parts, pos = p.read_bytes(), [], 0
        for bs, be, rep in sorted(edits):
            if bs < pos:
                continue
            parts += [data[pos:bs], rep.encode()]
            pos = be
        parts.append(data[pos:])
        try:
            out[f] = b"".join(parts).decode("utf-8").splitlines(keepends=True)
        except UnicodeDecodeError:
            continue
    return out


def saved_fix_edits(saved_fix: dict, lints, crate: Path, pristine) -> list[dict]:
    """cargo fix's edits from an earlier run's JSON. A newer JSON keeps each region's new
    lines; an older one only excerpts, so the lines are rebuilt by replaying the lint
    suggestions, and kept only if their excerpts equal the saved ones (`new` is None for a
    region that cannot be rebuilt: it is then compared by excerpt)."""
    replayed = replay_suggestions(crate, lints)
    cand = line_ops({f: pristine.get(f, []) for f in replayed}, replayed)
    out = []
    for e in saved_fix.get("edits", []):
        e = {k: e[k] for k in ("file", "line", "lint", "regions", "before", "after")} | {"new": e.get("new")}
        if e["new"] is None or any(n is None for n in e["new"]):
            by_range = {(i1, i2): new for i1, i2, new in cand.get(e["file"], [])}
            new = [by_range.get((a - 1, b)) for a, b in e["regions"]]
            if all(n is not None for n in new) and " … ".join(excerpt(n) for n in new) == e["after"]:
                e["new"] = [list(n) for n in new]
                e["rebuilt"] = "replayed suggestions, excerpt verified"
            else:
                e["new"] = [None] * len(e["regions"])
                e["rebuilt"] = "no: compared by excerpt"
        out.append(e)
    return out


def region_status(i1, i2, new, ours, after_excerpt=None):
    """same / different / missing for one of cargo fix's regions against our regions of
    the same file. Without new lines, by excerpt (leading/trailing blanks and text past
    110 characters are not compared)."""
    if new is not None:
        if (i1, i2, tuple(new)) in {(a, b, tuple(n)) for a, b, n in ours}:
            return "same"
    elif after_excerpt is not None and any((a, b) == (i1, i2) and excerpt(n) == after_excerpt for a, b, n in ours):
        return "same"
    if any(overlaps(o1 + 1, max(o2, o1 + 1), i1, i2) for o1, o2, _ in ours):
        return "different"
    return "missing"


def code(lines) -> str:
    """The code of some lines without whitespace and the braces and commas a layout adds
    or drops (`P => { x }` → `P => x,`)."""
    return re.sub(r"[\s{},]", "", "".join(lines))


def laid_out_same(e, ours, lines):
    """Our regions that make the same code as cargo fix's edit `e`, laid out otherwise
    (`syntax::layout`: `unsafe {` on its own line and the body one level in, where cargo fix
    writes rustc's `{ unsafe {` … `}}`), or None. Both are rebuilt over the lines from the
    first to the last region of either (ours overlapping it, transitively) and compared by
    `code`."""
    if any(n is None for n in e["new"]):
        return None
    theirs = [(a - 1, b, n) for (a, b), n in zip(e["regions"], e["new"])]
    lo, hi = min(t[0] for t in theirs), max(t[1] for t in theirs)
    mine, grew = [], True
    while grew:
        grew = False
        for o in ours:
            if o not in mine and overlaps(lo + 1, max(hi, lo + 1), o[0], o[1]):
                mine.append(o)
                lo, hi, grew = min(lo, o[0]), max(hi, o[1]), True
    if not mine:
        return None

    def rebuild(regions):
        out, at = [], lo
        for i1, i2, n in sorted(regions, key=lambda r: (r[0], r[1])):
            out += lines[at:i1] + list(n)
            at = i2
        return out + lines[at:hi]

    return [(i1, i2) for i1, i2, _ in mine] if code(rebuild(theirs)) == code(rebuild(mine)) else None


def compare(fix_edits, ours_ops_by_mode, pristine=None) -> list[dict]:
    """For each of cargo fix's edits and each of our modes: whether we make the same
    change ('same'), touch its lines differently or only in part ('different'), or not at
    all ('missing'). `ours` is the full mode, `ours_syntax` the syntax-only one. The same
    code laid out otherwise counts as the same (`laid_out`: our regions that make it)."""
    out = []
    for e in fix_edits:
        parts = e["after"].split(" … ")
        per_region = parts if len(parts) == len(e["regions"]) else [None] * len(e["regions"])
        e = dict(e)
        for mode, key in (("full", "ours"), ("syntax", "ours_syntax")):
            ours = ours_ops_by_mode[mode].get(e["file"], [])
            st = [region_status(a - 1, b, n, ours, x) for (a, b), n, x in zip(e["regions"], e["new"], per_region)]
            e[key] = "same" if all(x == "same" for x in st) else "missing" if all(x == "missing" for x in st) else "different"
            if e[key] != "same" and pristine is not None:
                regions = laid_out_same(e, ours, pristine.get(e["file"], []))
                if regions:
                    e[key] = "same"
                    e.setdefault("laid_out", {})[mode] = regions
        out.append(e)
    return out


def explain(edits, full: dict, crate: Path):
    """Why we do not make one of cargo fix's edits identically (full mode): a deliberate
    choice (an `expr` fragment kept, an `if let` kept by the judge) or what our run says
    about those lines."""
    verdicts = full.get("verdicts", [])
    diags = full.get("diagnostics", [])
    changes = full.get("changes_list", [])
    for e in edits:
        lo = min(a for a, _ in e["regions"])
        hi = max(max(b, a) for a, b in e["regions"])
        if e["lint"] == "if_let_rescope":
            v = next((v for v in verdicts if v["rule"] == "if_let_rescope" and v["file"] == e["file"] and lo <= v["line"] <= hi), None)
            if v:
                e["verdict"] = {k: v[k] for k in ("option", "reason", "safety")} | {"decided_by": v["decided_by"].get("kind")}
        if e["ours"] == "same":
            continue
        if e["lint"] == EXPR_LINT and e["ours"] == "missing":
            e["why"], e["deliberate"] = "expr fragment kept: no later arm is shadowed", True
        elif e["lint"] == "deprecated_safe_2024" and any(
                x["rule"] == "unsafe-std-functions" and x["file"] == e["file"] and lo <= x["line"] <= hi for x in changes):
            e["why"], e["deliberate"] = "same `unsafe { }`, with our `// SAFETY:` note instead of cargo fix's `// TODO: Audit` comment", True
        elif e.get("verdict", {}).get("option") == "keep-if-let":
            e["why"], e["deliberate"] = f"if let kept by the judge ({e['verdict']['decided_by']}): {e['verdict']['reason']}", True
        else:
            d = [x for x in diags if x.get("file") == e["file"] and x.get("line") and lo <= x["line"] <= hi]
            d += [{"message": f"not changed ({u['reason']}): {u['detail']}"} for u in full.get("unchanged", [])
                  if u.get("file") == e["file"] and u.get("line") and lo <= u["line"] <= hi]
            c = [x for x in changes if x["file"] == e["file"] and lo <= x["line"] <= hi]
            if c:
                e["why"] = "we change these lines differently: " + "; ".join(f"{x['rule']} ({x['decided_by']})" for x in c)
            elif d:
                e["why"] = "our run reports: " + d[0]["message"][:200]
            else:
                e["why"] = "not reported by our run" + (f" (compiler phase: {full['compiler_config']})" if full.get("compiler_config") else "")
            e["deliberate"] = False


def unfixed(lints, fix_ops):
    """Edition lints that fired but that cargo fix did not fix (no machine-applicable
    suggestion, or one whose lines cargo fix left alone): a human has to look at them."""
    out = []
    applied = []  # (lint, file, first line, last line) of each applied suggestion group
    for g in suggestion_groups(lints):
        if any(overlaps(s["line_start"], s["line_end"], i1, i2) for s in g["suggestions"] for i1, i2, _ in fix_ops.get(s["file"], [])):
            files = {s["file"] for s in g["suggestions"]}
            if len(files) == 1:
                applied.append((g["lint"], files.pop(), min(s["line_start"] for s in g["suggestions"]), max(s["line_end"] for s in g["suggestions"])))
    for l in lints:
        if not l["edition_lint"]:
            continue
        spans = [s for s in l["suggestions"] if s["applicability"] == "MachineApplicable"]
        if any(overlaps(s["line_start"], s["line_end"], i1, i2) for s in spans for i1, i2, _ in fix_ops.get(s["file"], [])):
            continue
        # rustc suggests a fix once (e.g. one `unsafe {}` around a function body for all the
        # unsafe operations in it): a diagnostic inside an applied fix's lines is covered.
        if not spans and any(a[0] == l["lint"] and a[1] == l["file"] and a[2] <= l["line"] <= a[3] for a in applied):
            continue
        out.append({"lint": l["lint"], "file": l["file"], "line": l["line"], "message": l["message"],
                    "has_suggestion": bool(l["suggestions"])})
    return out


def is_doc_line(line: str) -> bool:
    s = line.lstrip()
    return (s.startswith("///") and not s.startswith("////")) or s.startswith("//!")


def change_lines(c: dict, lines: list[str]) -> list[tuple[int, int]]:
    """The 1-based line ranges a change's edits touch (its byte ranges on the original text)."""
    if "ranges" not in c:
        return [(c["line"], c["line"])]
    starts, pos = [], 0
    for l in lines:
        starts.append(pos)
        pos += len(l.encode("utf-8"))

    def line_of(b):
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= b:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    return [(line_of(a), line_of(max(a, b - 1))) for a, b in c["ranges"]] if starts else [(c["line"], c["line"])]


def ours_only(ours_ops, fix_edits, changes, pristine, fix) -> list[dict]:
    """Our line regions that cargo fix does not produce, with the rule, cfg status and a
    kind: `manifest`, `doc test`, `cfg-inactive`, `compiler` (a lint our compiler phase
    saw; cargo fix's build may not have compiled that target or configuration) or
    `syntax rule`."""
    theirs = {}
    # Our regions that make one of cargo fix's edits, laid out otherwise (see `compare`).
    laid_out = {(e["file"], i1, i2) for e in fix_edits for i1, i2 in e.get("laid_out", {}).get("full", [])}
    for e in fix_edits:
        parts = e["after"].split(" … ")
        parts = parts if len(parts) == len(e["regions"]) else [None] * len(e["regions"])
        for (a, b), n, x in zip(e["regions"], e["new"], parts):
            theirs.setdefault(e["file"], []).append((a - 1, b, n, x))
    grouped = {}
    for f, regions in ours_ops.items():
        for i1, i2, new in regions:
            if (f, i1, i2) in laid_out:
                continue
            if any((t1, t2) == (i1, i2) and (list(tn) == list(new) if tn is not None else tx == excerpt(new))
                   for t1, t2, tn, tx in theirs.get(f, [])):
                continue
            hit = [k for k, c in enumerate(changes)
                   if c["file"] == f and any(overlaps(a, b, i1, i2) for a, b in change_lines(c, pristine.get(f, [])))]
            # The regions of one change (an `unsafe {` and its `}`) are one entry.
            g = grouped.setdefault((f, tuple(hit)) if hit else (f, i1), {"file": f, "line": i1 + 1, "hit": hit, "regions": []})
            g["regions"].append((i1, i2, new))
    out = []
    for g in grouped.values():
        f, hit = g["file"], [changes[k] for k in g["hit"]]
        old = [pristine.get(f, [])[i1:i2] for i1, i2, _ in g["regions"]]
        cfgs = {c["cfg"] for c in hit}
        if f.endswith("Cargo.toml"):
            kind = "manifest"
        elif all(o and all(is_doc_line(l) for l in o) for o in old):
            kind = "doc test"
        elif cfgs - {"active"}:
            kind = "cfg-inactive"
        elif any(c["decided_by"] in ("compiler", "heuristic", "llm") or "_" in c["rule"] for c in hit):
            kind = "compiler"  # a lint of the compiler phase (its judged sites included)
        else:
            kind = "syntax rule"
        out.append({"file": f, "line": g["line"], "rule": ", ".join(sorted({c["rule"] for c in hit})) or "?",
                    "cfg": ", ".join(sorted(cfgs)) or "?", "kind": kind,
                    "overlaps_fix": any(overlaps(t1 + 1, max(t2, t1 + 1), i1, i2) for i1, i2, _ in g["regions"] for t1, t2, _, _ in theirs.get(f, [])),
                    "before": " … ".join(excerpt(o) for o in old), "after": " … ".join(excerpt(n) for _, _, n in g["regions"])})
    return sorted(out, key=lambda x: (x["file"], x["line"]))


def count_by(items, key):
    out = {}
    for it in items:
        out[it[key]] = out.get(it[key], 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


# ---------------------------------------------------------------------------------------
# report

RULE_ABBR = {
    "edition-manifest": "man", "unsafe-extern-blocks": "ext", "unsafe-attributes": "attr", "keyword-gen": "gen",
    "unsafe-std-functions": "env", "guarded-strings": "gs", "expr-fragment": "expr",
    "unsafe_op_in_unsafe_fn": "uop", "rust_2024_incompatible_pat": "pat", "impl_trait_overcaptures": "capt",
    "if_let_rescope": "iflet", "static_mut_refs": "smut", "boxed_slice_into_iter": "box", "rust_2024_prelude_collisions": "prel",
    "never_type_fallback_flowing_into_unsafe": "never", "dependency_on_unit_never_type_fallback": "never-dep",
    "deprecated_safe_2024": "dep-safe", "tail_expr_drop_order": "tail",
}


def compact_rules(by_rule: dict) -> str:
    return " ".join(f"{RULE_ABBR.get(k, k)} {v}" for k, v in sorted(by_rule.items(), key=lambda kv: RULE_ABBR.get(kv[0], kv[0]))) or "–"


def yn(v):
    return "–" if v is None else ("y" if v else "**n**")


def fmt_s(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return f"{a / b:,.1f}×" if a and b else "–"


def md_table(rows) -> str:
    return "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in [rows[0], ["---"] * len(rows[0])] + rows[1:]) + "\n"


def goals_table(results) -> str:
    """Issue 12's ratios, per crate, from this run: the default mode against cargo fix
    (both given the same selection) beside the floor's (one check without incremental
    state) against cargo fix, the compiler phase against one plain `cargo check`, the
    re-run, our own peak memory."""
    head = ["crate", "selection (both tools)", "ours cold (s)", "cargo fix cold (s)", "**ours ÷ fix, cold**", "floor ÷ fix, cold", "ours warm (s)", "cargo fix warm (s)",
            "**ours ÷ fix, warm**", "floor ÷ fix, warm", "ours ÷ floor, warm", "compiler phase, warm (s)", "plain cargo check, warm (s)", "**phase ÷ plain check**",
            "**re-run (s)**", "**`--verify` adds (s)**", "**own peak RSS, full (MiB)**"]
    rows = [head]
    worst = {"cold": 0.0, "warm": 0.0, "phase": 0.0, "rss": 0}
    for r in results:
        f, x, pc = r.get("ours_full", {}), r.get("cargo_fix", {}), r.get("plain_check", {})
        phase = f.get("warm_phases", {}).get("compiler_s")

        def q(a, b):
            return a / b if a and b else None
        rc, rw, rp = q(f.get("cold_s"), x.get("cold_s")), q(f.get("warm_s"), x.get("warm_s")), q(phase, pc.get("warm_s"))
        for k, v in (("cold", rc), ("warm", rw), ("phase", rp)):
            if v is not None:
                worst[k] = max(worst[k], v)
        worst["rss"] = max(worst["rss"], f.get("own_rss_kb") or 0)
        fx = lambda v: "–" if v is None else f"{v:.2f}×"
        rows.append([r["crate"], " ".join(r["targets"].split()) if r.get("targets") else "(none built)", fmt_s(f.get("cold_s")), fmt_s(x.get("cold_s")), fx(rc),
                     fx(q(pc.get("floor_cold_s"), x.get("cold_s"))), fmt_s(f.get("warm_s"), 2), fmt_s(x.get("warm_s"), 2), fx(rw), fx(q(pc.get("floor_warm_s"), x.get("warm_s"))),
                     fx(q(f.get("warm_s"), pc.get("floor_warm_s"))), fmt_s(phase, 2), fmt_s(pc.get("warm_s"), 2), fx(rp),
                     fmt_s(f.get("rerun_s"), 2), verify_adds(f), f"{(f.get('own_rss_kb') or 0) / 1024:.0f}"])
    rows.append(["**worst**", "", "", "", f"{worst['cold']:.2f}×", "", "", "", f"{worst['warm']:.2f}×", "", "", "", "", f"{worst['phase']:.2f}×", "", "", f"{worst['rss'] / 1024:.0f}"])
    return md_table(rows) + "\n\n" + half_summary(results)


def half_summary(results) -> str:
    """How many crates are at most 0.5× cargo fix, ours and the floor, warm and cold."""
    lines = []
    for label in ("warm", "cold"):
        pairs = [(r.get("ours_full", {}).get(f"{label}_s"), r.get("plain_check", {}).get(f"floor_{label}_s"), r.get("cargo_fix", {}).get(f"{label}_s")) for r in results]
        pairs = [(o / x, fl / x if fl else None) for o, fl, x in pairs if o and x]
        ours = sum(1 for o, _ in pairs if o <= 0.5)
        floors = [fl for _, fl in pairs if fl is not None]
        floor = f"on {sum(1 for fl in floors if fl <= 0.5)} of {len(floors)}" if floors else "not measured in this run"
        lines.append(f"- {label}: ours at most 0.5× cargo fix on {ours} of {len(pairs)} crates; the floor (one check without incremental state) {floor}.")
    return "\n".join(lines)


def verify_adds(f: dict) -> str:
    """`--apply --verify` on the re-run's copy, less the re-run: the seconds and `cargo
    check`s verify added (the compiler phase's own replay runs are not counted)."""
    v = f.get("verify")
    if not v or f.get("rerun_s") is None:
        return "–"
    own = f.get("rerun_checks")
    extra = f" ({v['checks'] - own} check{'s' if v['checks'] - own != 1 else ''})" if own is not None else ""
    failed = "" if v["rc"] in (0, 2) else f", exit {v['rc']}"
    return f"{v['secs'] - f['rerun_s']:.2f}{extra}{', reverted some' if v['reverted'] else ''}{failed}"


def phases_table(results) -> str:
    """Where the default mode's time goes, per crate and run (the tool's `-v` account):
    the syntactic pass and the compiler phase overlap, each timed from the start."""
    rows = [["crate", "run", "total (s)", "syntactic pass (s)", "compiler phase (s)", "of which cargo (s)", "judge (s)", "plan (s)", "cargo checks"]]
    for r in results:
        f = r.get("ours_full", {})
        for label in ("cold", "warm", "rerun"):
            ph = f.get(f"{label}_phases", {})
            rows.append([r["crate"], label, fmt_s(f.get(f"{label}_s"), 2), fmt_s(ph.get("syntax_s"), 2), fmt_s(ph.get("compiler_s"), 2),
                         fmt_s(ph.get("cargo_s"), 2), fmt_s(ph.get("judge_s"), 3), fmt_s(ph.get("plan_s"), 3), f.get("cargo_checks", "–") if label == "cold" else ""])
    return md_table(rows)


def speed_table(results, quick: bool) -> str:
    head = ["crate", "files", "lines", "syntax only: time ms (best of N)", "syntax only: CPU ms", "own RSS MiB"]
    if not quick:
        head += ["full: cargo checks per run", "full cold (s)", "full warm (s)", "full rerun (s)", "cargo fix cold (s)", "cargo fix warm (s)",
                 "fix warm ÷ syntax only", "fix cold ÷ full cold", "fix warm ÷ full warm"]
    rows = [head]
    tot = {k: 0.0 for k in ("files", "lines", "syn", "cpu", "cold", "warm", "rerun", "fcold", "fwarm", "rss")}
    for r in results:
        o, f, x = r.get("ours", {}), r.get("ours_full", {}), r.get("cargo_fix", {})
        if "lines_read" not in o:
            rows.append([r["crate"], "–", "–", f"ERROR: {o.get('error', '?')[:120]}"] + ["–"] * (len(head) - 4))
            continue
        row = [r["crate"], o["files_read"], o["lines_read"], f"{o['time_s'] * 1000:.0f}", f"{o['cpu_s'] * 1000:.0f}",
               f"{(o.get('own_rss_kb') or 0) / 1024:.0f}"]
        tot["files"] += o["files_read"]; tot["lines"] += o["lines_read"]; tot["syn"] += o["time_s"]; tot["cpu"] += o["cpu_s"]
        tot["rss"] = max(tot["rss"], o.get("own_rss_kb") or 0)
        if not quick:
            skipped = any(n.startswith("compiler phase skipped") for n in f.get("compiler_notes", []))
            mark = " (phase skipped)" if skipped else ""
            row += [f.get("cargo_checks", "–"), fmt_s(f.get("cold_s")) + mark, fmt_s(f.get("warm_s")) + mark, fmt_s(f.get("rerun_s")) + mark,
                    fmt_s(x.get("cold_s")), fmt_s(x.get("warm_s")), ratio(x.get("warm_s"), o["time_s"]),
                    "–" if skipped else ratio(x.get("cold_s"), f.get("cold_s")), "–" if skipped else ratio(x.get("warm_s"), f.get("warm_s"))]
            if x.get("warm_s"):
                tot["fwarm_all"] = tot.get("fwarm_all", 0) + x["warm_s"]
            # Totals of the full mode and ratios: crates where our compiler phase ran.
            if f.get("cold_s") and x.get("cold_s") and x.get("warm_s") and not skipped:
                tot["cold"] += f["cold_s"]; tot["warm"] += f["warm_s"]; tot["rerun"] += f["rerun_s"]
                tot["fcold"] += x["cold_s"]; tot["fwarm"] += x["warm_s"]
        rows.append(row)
    total = ["**total** (syntax only and its ratio: all crates; full mode, cargo fix and the full/fix ratios: the crates where our compiler phase ran)" if not quick else "**total**", int(tot["files"]), int(tot["lines"]), f"{tot['syn'] * 1000:.0f}", f"{tot['cpu'] * 1000:.0f}", f"{tot['rss'] / 1024:.0f} (max)"]
    if not quick:
        total += ["", fmt_s(tot["cold"]), fmt_s(tot["warm"]), fmt_s(tot["rerun"]), fmt_s(tot["fcold"]), fmt_s(tot["fwarm"]),
                  ratio(tot.get("fwarm_all"), tot["syn"]), ratio(tot["fcold"], tot["cold"]), ratio(tot["fwarm"], tot["warm"])]
    rows.append(total)
    return md_table(rows)


def result_table(results) -> str:
    head = ["crate", "targets checked", "our changes, syntax only", "our changes, full", "compiles: ours syntax only / ours full / cargo fix",
            "cargo fix edits", "full: same / different / missing", "not same, deliberate: expr kept / if-let kept / wording", "not same, other",
            "syntax only: same", "only ours (full): doc test / cfg-inactive / compiler / syntax rule"]
    rows = [head]
    tot = {}

    def add(k, v):
        tot[k] = tot.get(k, 0) + v

    for r in results:
        o, f, x = r.get("ours", {}), r.get("ours_full", {}), r.get("cargo_fix", {})
        edits = x.get("edits", [])
        st = {k: sum(1 for e in edits if e["ours"] == k) for k in ("same", "different", "missing")}
        expr = sum(1 for e in edits if e["ours"] != "same" and e.get("deliberate") and e["lint"] == EXPR_LINT)
        iflet = sum(1 for e in edits if e["ours"] != "same" and e.get("deliberate") and e["lint"] == "if_let_rescope")
        wording = sum(1 for e in edits if e["ours"] != "same" and e.get("deliberate") and e["lint"] not in (EXPR_LINT, "if_let_rescope"))
        other = sum(1 for e in edits if e["ours"] != "same" and not e.get("deliberate"))
        syn_same = sum(1 for e in edits if e["ours_syntax"] == "same")
        only = [y for y in r.get("ours_only", []) if not y["overlaps_fix"]]
        kinds = {k: sum(1 for y in only if y["kind"] == k) for k in ("doc test", "cfg-inactive", "compiler", "syntax rule")}
        rows.append([r["crate"], r.get("targets") or "–",
                     f"{o.get('changes', '–')} ({compact_rules(o.get('by_rule', {}))})",
                     f"{f.get('changes', '–')} ({compact_rules(f.get('by_rule', {}))})",
                     f"{yn(o.get('compiles'))} / {yn(f.get('compiles'))} / {yn(x.get('compiles'))}",
                     len(edits), f"{st['same']} / {st['different']} / {st['missing']}", f"{expr} / {iflet} / {wording}", other, syn_same,
                     " / ".join(str(v) for v in kinds.values())])
        add("syn", o.get("changes", 0)); add("full", f.get("changes", 0)); add("edits", len(edits))
        for k, v in st.items():
            add(k, v)
        add("expr", expr); add("iflet", iflet); add("wording", wording); add("other", other); add("syn_same", syn_same)
        for k, v in kinds.items():
            add(k, v)
        add("ok_syn", bool(o.get("compiles"))); add("ok_full", bool(f.get("compiles"))); add("ok_fix", bool(x.get("compiles")))
        add("n", 1)
    rows.append(["**total**", "", tot.get("syn", 0), tot.get("full", 0),
                 f"{tot.get('ok_syn', 0)} / {tot.get('ok_full', 0)} / {tot.get('ok_fix', 0)} of {tot.get('n', 0)}",
                 tot.get("edits", 0), f"{tot.get('same', 0)} / {tot.get('different', 0)} / {tot.get('missing', 0)}",
                 f"{tot.get('expr', 0)} / {tot.get('iflet', 0)} / {tot.get('wording', 0)}", tot.get("other", 0), tot.get("syn_same", 0),
                 " / ".join(str(tot.get(k, 0)) for k in ("doc test", "cfg-inactive", "compiler", "syntax rule"))])
    return md_table(rows)


def lint_summary(results) -> str:
    """Per lint, over the corpus: cargo fix's edits and what we do with them."""
    by = {}
    for r in results:
        for e in r.get("cargo_fix", {}).get("edits", []):
            b = by.setdefault(e["lint"], {"edits": 0, "same": 0, "different": 0, "missing": 0, "deliberate": 0, "other": 0, "syn_same": 0, "crates": set()})
            b["edits"] += 1
            b[e["ours"]] += 1
            b["syn_same"] += e["ours_syntax"] == "same"
            if e["ours"] != "same":
                b["deliberate" if e.get("deliberate") else "other"] += 1
                b["crates"].add(r["crate"].rsplit("-", 1)[0])
    rows = [["lint", "cargo fix edits", "same (full)", "different", "missing", "not same: deliberate", "not same: other", "same (syntax only)", "crates with a difference"]]
    for lint, b in sorted(by.items(), key=lambda kv: -kv[1]["edits"]):
        rows.append([f"`{lint}`", b["edits"], b["same"], b["different"], b["missing"], b["deliberate"], b["other"], b["syn_same"], ", ".join(sorted(b["crates"])) or "–"])
    tot = {k: sum(b[k] for b in by.values()) for k in ("edits", "same", "different", "missing", "deliberate", "other", "syn_same")}
    rows.append(["**total**", tot["edits"], tot["same"], tot["different"], tot["missing"], tot["deliberate"], tot["other"], tot["syn_same"], ""])
    return md_table(rows)


def differences_report(results) -> str:
    """cargo fix's edits we do not make identically and not by a deliberate choice."""
    out = []
    for r in results:
        es = [e for e in r.get("cargo_fix", {}).get("edits", []) if e["ours"] != "same" and not e.get("deliberate")]
        if not es:
            continue
        out.append(f"\n#### {r['crate']}\n")
        for e in es:
            rb = " (compared by excerpt)" if e.get("rebuilt", "").startswith("no") else ""
            out.append(f"- {e['file']}:{e['line']} `{e['lint']}` [{e['ours']}{rb}]: cargo fix `{e['before']}` → `{e['after']}` — {e.get('why', '')}")
    return "\n".join(out) + "\n" if out else "none\n"


def verdicts_report(results) -> str:
    """Our judge's verdicts on if_let_rescope sites, with what cargo fix did there; and a
    count of the tail_expr_drop_order verdicts."""
    rows = [["crate", "site", "verdict", "by", "reason", "cargo fix"]]
    tails = []
    for r in results:
        f = r.get("ours_full", {})
        fix_iflet = [e for e in r.get("cargo_fix", {}).get("edits", []) if e["lint"] == "if_let_rescope"]
        for v in f.get("verdicts", []):
            if v["rule"] == "if_let_rescope":
                e = next((e for e in fix_iflet if e["file"] == v["file"] and min(a for a, _ in e["regions"]) <= v["line"] <= max(b for _, b in e["regions"])), None)
                theirs = "rewrote to `match`" + (" (identical)" if e["ours"] == "same" else "") if e else "no edit"
                by = {"rule": "fallback"}.get(v["decided_by"].get("kind"), v["decided_by"].get("kind"))
                rows.append([r["crate"].rsplit("-", 1)[0], f"{v['file']}:{v['line']}", f"`{v['option']}`", by, v["reason"], theirs])
            else:
                tails.append((r["crate"], v))
    out = md_table(rows) if len(rows) > 1 else "no if_let_rescope site\n"
    if tails:
        by = {}
        for c, v in tails:
            by.setdefault((v["rule"], v["option"], v["decided_by"].get("kind")), []).append(f"{c.rsplit('-', 1)[0]} {v['file']}:{v['line']}")
        out += "\nOther judged sites:\n\n" + "\n".join(f"- `{k[0]}` → `{k[1]}` ({k[2]}): {len(v)} — {', '.join(v)}" for k, v in sorted(by.items())) + "\n"
        reasons = {}
        for c, v in tails:
            reasons.setdefault((v["rule"], v["option"], v["reason"]), 0)
            reasons[(v["rule"], v["option"], v["reason"])] += 1
        out += "\nTheir reasons:\n\n" + "\n".join(f"- `{k[0]}` `{k[1]}` ×{n}: {k[2]}" for k, n in sorted(reasons.items())) + "\n"
    return out


def deliberate_other_report(results) -> str:
    """Deliberate differences other than `expr` fragments and `if let` sites."""
    out = []
    for r in results:
        for e in r.get("cargo_fix", {}).get("edits", []):
            if e["ours"] != "same" and e.get("deliberate") and e["lint"] not in (EXPR_LINT, "if_let_rescope"):
                out.append(f"- {r['crate']} {e['file']}:{e['line']} `{e['lint']}`: {e['why']} (cargo fix: `{e['after']}`)")
    return "\n".join(out) + "\n" if out else "none\n"


def remaining_report(results) -> str:
    """Edition lints still firing when our migrated copies are checked."""
    out = []
    for r in results:
        for key, label in (("ours_full", "full"), ("ours", "syntax only")):
            rem = r.get(key, {}).get("remaining_lints") or []
            if rem:
                out.append(f"- {r['crate']} ({label}): " + ", ".join(f"`{k}` {v}" for k, v in count_by(rem, "lint").items()) + " — " +
                           "; ".join(f"{x['file']}:{x['line']}" for x in rem[:8]) + (" …" if len(rem) > 8 else ""))
    return "\n".join(out) + "\n" if out else "none\n"


def expr_kept_report(results) -> str:
    out = []
    for r in results:
        es = [e for e in r.get("cargo_fix", {}).get("edits", []) if e["lint"] == EXPR_LINT and e.get("deliberate")]
        if not es:
            continue
        by = {}
        for e in es:
            by.setdefault(e["file"], []).append(str(e["line"]))
        note = r.get("ours_full", {}).get("expr_kept_note")
        out.append(f"- {r['crate']} ({len(es)} edits; our note: {note or '–'}): " + "; ".join(f"{f}:{','.join(ls)}" for f, ls in by.items()))
    made = []
    for r in results:
        for e in r.get("cargo_fix", {}).get("edits", []):
            if e["lint"] == EXPR_LINT and e["ours"] == "same":
                made.append(f"{r['crate']} {e['file']}:{e['line']}")
    if made:
        out.append(f"- made identically by `expr-fragment` (an arm would be shadowed): {', '.join(made)}")
    return "\n".join(out) + "\n" if out else "none\n"


def ours_only_report(results) -> str:
    """Our changes that cargo fix does not make (full mode), by kind; the Cargo.toml
    edition/rust-version changes, which cargo fix never makes, are left out."""
    out = []
    for r in results:
        o = [x for x in r.get("ours_only", []) if x["kind"] != "manifest"]
        if not o:
            continue
        out.append(f"\n#### {r['crate']}\n")
        for x in o:
            tag = " [cargo fix changes these lines differently]" if x["overlaps_fix"] else ""
            out.append(f"- {x['kind']}: {x['file']}:{x['line']} `{x['rule']}` ({x['cfg']}){tag}: `{x['before']}` → `{x['after']}`")
    return "\n".join(out) + "\n" if out else "none\n"


def compile_report(results) -> str:
    out = []
    for r in results:
        for key, label in (("ours_full", "ours (full)"), ("ours", "ours (syntax only)"), ("cargo_fix", "cargo fix")):
            x = r.get(key, {})
            if x.get("compiles") is not False:
                continue
            chk = x.get("check", {})
            errs = chk.get("errors", [])
            out.append(f"- **{r['crate']}, {label}**: {chk.get('n_errors', len(errs))} error(s) with `{r.get('targets')}`")
            for e in errs[:12]:
                if isinstance(e, dict):
                    out.append(f"  - {e.get('file')}:{e.get('line')} [{e.get('target')}] {e.get('code') or ''} {e['message']}")
                else:
                    out.append(f"  - {e}")
            if not errs:
                out.append(f"  - {chk.get('first_error', '')}")
    return "\n".join(out) + "\n" if out else "every migrated copy compiles\n"


def our_notes_report(results) -> str:
    """What our full run said about itself: the compiler phase's configuration and failed
    targets, and the sites it left for review, by rule."""
    out = []
    for r in results:
        f = r.get("ours_full", {})
        if "changes" not in f:
            if f.get("error"):
                out.append(f"- {r['crate']}: cargo-migrate error: {f['error']}")
            continue
        review = count_by([u for u in f.get("unchanged", []) if u["reason"] == "needs-review"], "rule")
        parts = [f"compiler phase: {f.get('compiler_config') or 'no compiler change'}"]
        if not f.get("runs_agree", True):
            parts.append("cold, warm and rerun runs did NOT produce the same changes")
        if review:
            parts.append("needs review, no automatic fix: " + ", ".join(f"`{k}` {v}" for k, v in review.items()))
        for n in f.get("compiler_notes", []):
            parts.append(n[:400])
        out.append(f"- {r['crate']}: " + "; ".join(parts))
    return "\n".join(out) + "\n"


def unfixed_report(results) -> str:
    """Edition lints that fired in the baseline build but cargo fix did not fix."""
    out = []
    for r in results:
        u = r.get("cargo_fix", {}).get("unfixed_lints", [])
        if not u:
            continue
        by = count_by(u, "lint")
        out.append(f"- {r['crate']}: " + ", ".join(f"`{k}` {v}" for k, v in by.items()) + " — e.g. " +
                   "; ".join(f"{x['file']}:{x['line']} ({x['message'][:80]})" for x in u[:3]))
    return "\n".join(out) + "\n" if out else "none\n"


def print_report(results, quick):
    if not quick:
        print("### The goals: default mode against cargo fix, compiler phase against cargo check, re-run, memory\n")
        print(goals_table(results))
        print("\n### Where the default mode's time goes\n")
        print(phases_table(results))
        print()
    print("### Speed\n")
    print(speed_table(results, quick))
    if quick:
        return
    print("\n### Results\n")
    print(result_table(results))
    for r in results:
        # (Runs before the selections tried all features first noted every selection but
        # `--all-targets` alone, the first tried then, as a failure of it.)
        for n in r.get("notes", []):
            if "baseline fails with --all-targets ()" not in n:
                print(f"- {r['crate']}: {n}")
        for key in ("ours", "ours_full"):
            if r.get(key, {}).get("error"):
                print(f"- {r['crate']}: cargo-migrate error ({key}): {r[key]['error']}")
    rebuilt = [e for r in results for e in r.get("cargo_fix", {}).get("edits", []) if "rebuilt" in e]
    if rebuilt:
        bad = sum(1 for e in rebuilt if e["rebuilt"].startswith("no"))
        print(f"\ncargo fix's edits reused from an earlier run: {len(rebuilt)}, of which {len(rebuilt) - bad} rebuilt exactly from the"
              f" saved lint suggestions (excerpts verified) and {bad} compared by excerpt only.")
    print("\n### cargo fix's edits, by lint: what we do with them\n")
    print(lint_summary(results))
    print("\n### Does the migrated crate compile\n")
    print(compile_report(results))
    print("\n### cargo fix edits we do not make identically, not deliberately (full mode)\n")
    print(differences_report(results))
    print("\n### The judge: if_let_rescope verdicts (`--llm none`: heuristics, else the conservative option)\n")
    print(verdicts_report(results))
    print("\n### Other deliberate differences\n")
    print(deliberate_other_report(results))
    print("\n### `expr` fragments we keep (cargo fix rewrites them to `expr_2021`)\n")
    print(expr_kept_report(results))
    print("\n### Our source changes that cargo fix does not make (full mode)\n")
    print(ours_only_report(results))
    print("\n### Edition lints still firing on our migrated code (cargo check, same targets)\n")
    print(remaining_report(results))
    print("\n### What our full run reported\n")
    print(our_notes_report(results))
    print("\n### Edition lints that fired but cargo fix did not fix\n")
    print(unfixed_report(results))


# ---------------------------------------------------------------------------------------
# main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("crates", nargs="*", help="only the corpus crates whose folder name contains one of these")
    ap.add_argument("--corpus", type=Path, help="unpacked corpus (default: fetch into target/corpus-src)")
    ap.add_argument("--quick", action="store_true", help="only our tool's syntax-only dry run: no compiler phase, no cargo fix, no cargo check")
    ap.add_argument("--runs", type=int, default=3, help="syntax-only dry runs of our tool per crate; the best is kept (default 3)")
    ap.add_argument("--warm-runs", type=int, default=3, help="warm runs of ours, plain cargo check and cargo fix per crate, alternated; the median is reported (default 3)")
    ap.add_argument("--timeout", type=int, default=1800, help="limit for each cargo check / fetch / full run of ours, in seconds")
    ap.add_argument("--fix-timeout", type=int, default=900, help="limit for each cargo fix run, in seconds (then skipped)")
    ap.add_argument("--skip-fix", action="append", default=[], help="crates (substring) for which cargo fix is not run")
    ap.add_argument("--reuse-fix", type=Path, metavar="PATH",
                    help="take the baseline (target selection, lints) and cargo fix's results (times, edits, compiles) from an"
                         " earlier run's JSON instead of running them; crates missing there are run")
    ap.add_argument("--exe", type=Path, help="benchmark this cargo-migrate binary instead of building the repository's")
    ap.add_argument("--full-args", default="", help="extra arguments for the full mode (e.g. --all-features), split on spaces")
    ap.add_argument("--work-dir", type=Path, default=None, help="where temporary copies go (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copies")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "bench-corpus.json")
    ap.add_argument("--merge", action="store_true",
                    help="replace the selected crates' results in an existing --out JSON, keep the others")
    ap.add_argument("--report", type=Path, help="print the report of an earlier run's JSON, run nothing")
    args = ap.parse_args()
    if args.report:
        doc = json.loads(args.report.read_text())
        print_report(doc["crates"], doc["quick"])
        return

    corpus = args.corpus
    if corpus is None:
        corpus = REPO / "target" / "corpus-src"
        log(f"fetching the corpus into {corpus}")
        subprocess.run(["bash", str(FETCH), str(corpus)], check=True, stdout=sys.stderr)
    corpus = corpus.resolve()
    crates = sorted(p for p in corpus.iterdir() if (p / "Cargo.toml").is_file())
    if args.crates:
        crates = [c for c in crates if any(f in c.name for f in args.crates)]
    if not crates:
        sys.exit(f"no crates in {corpus}" + (f" matching {args.crates}" if args.crates else ""))
    reuse = {}
    args.reuse_fix_path = None
    if args.reuse_fix:
        args.reuse_fix_path = str(args.reuse_fix.resolve())
        old = json.loads(args.reuse_fix.read_text())
        reuse = {r["crate"]: r for r in old["crates"] if r.get("targets") is not None or r.get("baseline_tries")}
        args.reuse_meta = {"path": args.reuse_fix_path, "date": old.get("date"), "machine": old.get("machine"), "commands": old.get("commands")}

    exe = args.exe.resolve() if args.exe else build_tool()
    args.tool_commit = "prebuilt binary " + str(exe) if args.exe else tool_commit()
    started = time.time()
    results = []
    if args.merge and args.out.is_file():
        old = json.loads(args.out.read_text())
        names = {c.name for c in crates}
        results = [r for r in old["crates"] if r["crate"] not in names]
        args.earlier_commands = old.get("commands", [old.get("command")])
        for r in old["crates"]:
            r.setdefault("run", old.get("date"))
    for c in crates:
        t0 = time.time()
        saved = reuse.get(c.name)
        if args.reuse_fix and saved is None:
            log(f"{c.name}: not in {args.reuse_fix}: baseline and cargo fix run here")
        results.append(bench_crate(exe, c, args, saved) | {"run": datetime.datetime.now().isoformat(timespec="seconds")})
        results.sort(key=lambda r: r["crate"])
        log(f"{c.name}: done in {time.time() - t0:.0f}s")
        # Written after each crate, so a long run can be read before it ends.
        write_json(args, corpus, exe, results, started, partial=True)
    write_json(args, corpus, exe, results, started, partial=False)
    print_report(results, args.quick)


def write_json(args, corpus, exe, results, started, partial):
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _, rustc, _, _ = run(["rustc", "-V"])
    doc = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "partial": partial,
        "elapsed_s": time.time() - started, "command": " ".join(sys.argv),
        "commands": getattr(args, "earlier_commands", []) + [" ".join(sys.argv)], "corpus": str(corpus), "binary": str(exe),
        "tool_commit": getattr(args, "tool_commit", None), "reuse_fix": getattr(args, "reuse_meta", None),
        "machine": {"nproc": os.cpu_count(), "rustc": rustc.strip(), "platform": platform.platform(),
                    "loadavg_at_end": os.getloadavg()},
        "quick": args.quick, "runs": args.runs, "edition_lints": sorted(edition_lints()), "crates": results,
    }
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

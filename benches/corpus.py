#!/usr/bin/env python3
"""Benchmark `cargo migrate edition` against `cargo fix --edition` on the corpus.

Usage:
    python3 benches/corpus.py [--corpus DIR] [--quick] [CRATE-FILTER ...]

Without --corpus, the corpus is fetched with shared/corpus/fetch.sh into
target/corpus-src. The corpus is never modified: every run works on fresh copies in a
temporary directory. Per crate:

  * ours (copy A): `cargo-migrate edition --format json` (dry run; best of N wall time,
    peak RSS from /usr/bin/time -v), then `--apply --allow-no-vcs` and `cargo check`.
  * cargo fix (copy B): `cargo fetch` (untimed), `cargo fix --edition --allow-no-vcs`
    with a fresh CARGO_TARGET_DIR (cold: builds the dependencies), again on another fresh
    copy reusing that target dir (warm: only the crate), then edition = "2024" (and
    rust-version >= 1.85) in Cargo.toml and `cargo check`.
  * a baseline `cargo check` of a pristine copy, with rustc's
    `--force-warn rust-2024-compatibility` added for the crate's own code only (through
    RUSTC_WORKSPACE_WRAPPER), whose JSON diagnostics attribute cargo fix's edits to lints.
    If the baseline fails with --all-targets it tries more features, then fewer targets
    (see target_selections), and that target selection is used for every later cargo command.

Prints a Markdown table and writes everything to target/bench-corpus.json (or --out).
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
# Target/feature selections, tried in order until the pristine crate builds. The usual
# reasons for failing are nightly-only benches, tests that need features (nix's need most
# of its features, tokio's `full`), and test data the published package leaves out. At each
# level: default features, then `full` (when the crate has that feature), then all
# features; at the last level (the library only) the widest features come first, because
# a library with default features can compile very little of its code (tokio, nix).
# Last at each level, all features with the crate's lint levels capped at warn (rustc's
# `--cap-lints warn` for the crate's own units, through RUSTC_WORKSPACE_WRAPPER, in every
# later cargo command too, cargo fix included): nix denies `unused` and more, which a newer
# rustc trips over with every feature on; with its default features it compiles almost
# nothing.
TARGET_LEVELS = [["--all-targets"], ["--lib", "--bins", "--tests", "--examples"], ["--lib", "--tests"]]
CAP_LINTS = "--cap-lints=warn"  # a marker in a selection, not a cargo argument


def target_selections(manifest: Path) -> list[list[str]]:
    has_full = re.search(r"(?m)^full\s*=", manifest.read_text()) is not None
    feats = [[], ["--features", "full"]] if has_full else [[]]
    widest = [["--all-features"], ["--all-features", CAP_LINTS]]
    sels = [level + f for level in TARGET_LEVELS for f in feats + widest]
    sels += [["--lib"] + f for f in widest + feats[::-1]]
    return sels


def cargo_args(sel: list[str]) -> list[str]:
    return [a for a in sel if a != CAP_LINTS]
EDITION_LINT_GROUP = "rust-2024-compatibility"
# Written by cargo itself (resolution), not by either migration.
NOT_COMPARED = {"Cargo.lock"}


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
    errors, lints, seen = [], [], set()
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
            errors.append(d.get("message", ""))
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


def peak_rss_kb(cmd, cwd) -> tuple[int | None, str]:
    """Peak RSS of one run of cmd, in KiB, and how it was measured."""
    gnu_time = shutil.which("time", path="/usr/bin") or None
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
            run([gnu_time, "-v", "-o", f.name, *cmd], cwd=cwd)
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(f.name).read_text())
            if m:
                return int(m.group(1)), "/usr/bin/time -v"
    # Fallback: ru_maxrss of the children is the max over all children so far.
    run(cmd, cwd=cwd)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "getrusage(RUSAGE_CHILDREN) (max over children so far)"


def own_hwm_kb(cmd, cwd) -> int | None:
    """Peak RSS of the tool's own process (not its `cargo metadata` child): VmHWM of
    /proc/PID/status sampled every millisecond while it runs (a lower bound)."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def bench_ours(exe: Path, crate: Path, work: Path, runs: int, quick: bool, lock: Path | None):
    a = copy_crate(crate, work / "A" / crate.name, lock)
    manifest = a / "Cargo.toml"
    cmd = [str(exe), "edition", "--format", "json", "--manifest-path", str(manifest)]
    times, cpus, doc, res = [], [], None, {}
    for _ in range(runs):
        cpu0 = cpu_children()
        rc, out, err, secs = run(cmd, cwd=a)
        cpus.append(cpu_children() - cpu0)
        times.append(secs)
        if rc != 0 and not out.strip().startswith("{"):
            res["error"] = f"exit {rc}: {err.strip()[-600:]}"
            break
        if rc != 0:
            res["error"] = f"exit {rc}: {first_error(err) or err.strip()[-300:]}"
        doc = json.loads(out)
    res["time_s"] = min(times)
    res["times_s"] = times
    res["cpu_s"] = min(cpus)  # user + sys, its `cargo metadata` child included
    if doc is None:
        return res, a
    s = doc["summary"]
    changes = doc["changes"]
    res.update({
        "files_read": s["files_read"], "lines_read": s["lines_read"], "changes": len(changes),
        "by_rule": s["by_rule"], "cfg_inactive": sum(1 for c in changes if c["cfg"] != "active"),
        "cfg_inactive_by_rule": {}, "diagnostics": doc.get("diagnostics", []),
        "changes_list": [{k: c[k] for k in ("rule", "file", "line", "cfg", "safety", "reason")} for c in changes],
    })
    for c in changes:
        if c["cfg"] != "active":
            res["cfg_inactive_by_rule"][c["rule"]] = res["cfg_inactive_by_rule"].get(c["rule"], 0) + 1
    res["peak_rss_kb"], res["rss_method"] = peak_rss_kb(cmd, a)
    res["own_rss_kb"] = own_hwm_kb(cmd, a)
    if quick:
        return res, a
    rc, _, err, secs = run([str(exe), "edition", "--apply", "--allow-no-vcs", "--manifest-path", str(manifest)], cwd=a)
    res["apply_rc"] = rc
    res["apply_s"] = secs
    if rc != 0:
        res["apply_error"] = err.strip()[-600:]
    return res, a


# ---------------------------------------------------------------------------------------
# one crate


def cargo_check(copy: Path, sel: list[str], target_dir: Path, timeout: int, wrapper: Path | None = None):
    env = {"CARGO_TARGET_DIR": str(target_dir)}
    if wrapper:
        env["RUSTC_WORKSPACE_WRAPPER"] = str(wrapper)
    rc, out, err, secs = run(["cargo", "check", *cargo_args(sel), "--message-format", "json", "--manifest-path", str(copy / "Cargo.toml")],
                             cwd=copy, env=env, timeout=timeout)
    errors, lints = parse_check_json(out, copy)
    return {"ok": rc == 0, "rc": rc, "secs": secs, "errors": errors, "first_error": "" if rc == 0 else (errors[0] if errors else first_error(err)),
            "stderr_tail": "" if rc == 0 else err.strip()[-1500:]}, lints


def bench_crate(exe: Path, crate: Path, args) -> dict:
    name = crate.name
    r: dict = {"crate": name, "notes": []}
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=args.work_dir))
    try:
        lock = None
        if not args.quick:
            # Dependencies, untimed.
            fetch_dir = copy_crate(crate, work / "fetch" / name)
            rc, _, err, secs = run(["cargo", "fetch", "--manifest-path", str(fetch_dir / "Cargo.toml")], cwd=fetch_dir, timeout=args.timeout)
            r["fetch"] = {"ok": rc == 0, "secs": secs, "error": "" if rc == 0 else first_error(err)}
            lock = fetch_dir / "Cargo.lock"
        log(f"{name}: cargo-migrate (dry run x{args.runs})")
        ours, a = bench_ours(exe, crate, work, args.runs, args.quick, lock)
        r["ours"] = ours
        if args.quick:
            return r
        pristine = read_tree(crate)

        # Baseline: which target selection compiles before any migration; edition lints.
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
            return r
        sel, lints = base
        r["targets"] = " ".join(sel)
        # Later checks and cargo fix: the crate's lints capped too, if the baseline needed it.
        cap = write_wrapper(work, "rustc-capped.sh", [CAP_LINTS]) if CAP_LINTS in sel else None
        if sel != ["--all-targets"]:
            r["notes"].append(f"baseline fails with --all-targets ({r['baseline_tries'][0]['first_error']}); used {r['targets']}")
        r["edition_lints"] = lints

        # Ours: does the applied copy compile (reuses the baseline's dependency builds).
        if ours.get("apply_rc") == 0:
            log(f"{name}: cargo check of our migrated copy")
            chk, _ = cargo_check(a, sel, base_target, args.timeout, cap)
            ours["compiles"] = chk["ok"]
            ours["check"] = {k: chk[k] for k in ("secs", "first_error", "stderr_tail")} | {"n_errors": len(chk["errors"])}
        else:
            ours["compiles"] = None
        ours_ops = line_ops(pristine, read_tree(a))
        r["ours"]["hunks"] = sum(len(v) for v in ours_ops.values())

        # cargo fix, cold then warm.
        fix = {}
        r["cargo_fix"] = fix
        if args.skip_fix and any(s in name for s in args.skip_fix):
            r["notes"].append("cargo fix skipped (--skip-fix)")
            return r
        fix_target = work / "target-fix"
        b = copy_crate(crate, work / "B" / name, lock)
        fix_cmd = ["cargo", "fix", "--edition", "--allow-no-vcs", *cargo_args(sel), "--manifest-path"]
        fix_env = {"CARGO_TARGET_DIR": str(fix_target)} | ({"RUSTC_WORKSPACE_WRAPPER": str(cap)} if cap else {})
        log(f"{name}: cargo fix --edition (cold)")
        try:
            rc, _, err, secs = run([*fix_cmd, str(b / "Cargo.toml")], cwd=b, env=fix_env, timeout=args.fix_timeout)
        except Timeout as e:
            fix["error"] = str(e)
            r["notes"].append(f"cargo fix skipped: took more than {args.fix_timeout}s")
            return r
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

        # What cargo fix changed, hunk by hunk, compared with our changes.
        fixed = read_tree(b)
        fix_ops = line_ops(pristine, fixed)
        fix["hunks"] = sum(len(v) for v in fix_ops.values())
        fix["hunks_by_file"] = {f: len(v) for f, v in fix_ops.items()}
        fix["edits"] = compare(fix_ops, ours_ops, lints, pristine)
        fix["hunks_by_lint"] = count_by(fix["edits"], "lint")
        fix["missing_by_lint"] = count_by([e for e in fix["edits"] if e["ours"] != "same"], "lint")
        fix["unfixed_lints"] = unfixed(lints, fix_ops)
        r["ours_only"] = ours_only(ours_ops, fix_ops, ours.get("changes_list", []), pristine)

        # cargo fix's result on edition 2024.
        r["fix_manifest_edit"] = set_edition_2024(b / "Cargo.toml")
        log(f"{name}: cargo check of cargo fix's copy on edition 2024")
        chk, _ = cargo_check(b, sel, fix_target, args.timeout, cap)
        fix["compiles"] = chk["ok"]
        fix["check"] = {k: chk[k] for k in ("secs", "first_error", "stderr_tail")} | {"n_errors": len(chk["errors"])}
        return r
    except Timeout as e:
        r["notes"].append(f"timeout: {e}")
        return r
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            r["work_dir"] = str(work)


def parse_fix_stderr(err: str) -> dict:
    """`Migrating F from 2021 edition to 2024` and `Fixed F (N fixes)` lines of cargo fix."""
    migrating = re.findall(r"Migrating (\S+) from (\d+) edition to (\d+)", err)
    fixed = {}
    for f, n in re.findall(r"Fixed (\S+) \((\d+) fix", err):
        fixed[f] = fixed.get(f, 0) + int(n)
    return {"migrating": sorted({m[0] for m in migrating}), "fixed": fixed, "total": sum(fixed.values())}


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


def compare(fix_ops, ours_ops, lints, pristine):
    """cargo fix's changes as edits: its changed line regions, grouped by the lint
    suggestion they come from (regions no suggestion explains stay one edit each, as
    `(manifest)` for Cargo.toml or `(unattributed)`). For each edit: whether we make the
    same change ('same'), touch its lines differently or only in part ('different'), or
    not at all ('missing')."""
    groups = suggestion_groups(lints)
    edits = {}
    for f, regions in fix_ops.items():
        ours = ours_ops.get(f, [])
        for i1, i2, new in regions:
            if (i1, i2, new) in ours:
                status = "same"
            elif any(overlaps(o1 + 1, max(o2, o1 + 1), i1, i2) for o1, o2, _ in ours):
                status = "different"
            else:
                status = "missing"
            g = next((k for k, g in enumerate(groups)
                      if any(s["file"] == f and overlaps(s["line_start"], s["line_end"], i1, i2) for s in g["suggestions"])), None)
            if g is None:
                key, lint = ("region", f, i1), "(manifest)" if f.endswith("Cargo.toml") else "(unattributed)"
            else:
                key, lint = ("group", g), groups[g]["lint"]
            e = edits.setdefault(key, {"file": f, "line": i1 + 1, "lint": lint, "regions": [], "statuses": [], "before": [], "after": []})
            e["regions"].append([i1 + 1, i2])
            e["statuses"].append(status)
            e["before"].append(excerpt(pristine.get(f, [])[i1:i2]))
            e["after"].append(excerpt(new))
    out = []
    for e in edits.values():
        st = e.pop("statuses")
        e["ours"] = "same" if all(x == "same" for x in st) else "missing" if all(x == "missing" for x in st) else "different"
        e["before"] = " … ".join(e["before"])
        e["after"] = " … ".join(e["after"])
        out.append(e)
    return sorted(out, key=lambda e: (e["file"], e["line"]))


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


def ours_only(ours_ops, fix_ops, changes, pristine):
    """Our line regions that cargo fix does not produce, with the rule and cfg status of
    the change(s) on those lines."""
    out = []
    for f, regions in ours_ops.items():
        theirs = fix_ops.get(f, [])
        for i1, i2, new in regions:
            if (i1, i2, new) in theirs:
                continue
            hit = [c for c in changes if c["file"] == f and i1 + 1 <= c["line"] <= max(i2, i1 + 1)]
            out.append({"file": f, "line": i1 + 1, "rule": ", ".join(sorted({c["rule"] for c in hit})) or "?",
                        "cfg": ", ".join(sorted({c["cfg"] for c in hit})) or "?",
                        "before": excerpt(pristine.get(f, [])[i1:i2]), "after": excerpt(new)})
    return out


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
}


def compact_rules(by_rule: dict) -> str:
    return " ".join(f"{RULE_ABBR.get(k, k)} {v}" for k, v in sorted(by_rule.items())) or "–"


def yn(v):
    return "–" if v is None else ("y" if v else "**n**")


def fmt_s(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def table(results, quick: bool) -> str:
    head = ["crate", "files", "lines", "our changes (by rule)", "ours cfg-inactive", "our time (ms)", "our CPU (ms)", "lines/s (ours)", "peak RSS MiB (with cargo metadata child / own process)"]
    if not quick:
        head[7:7] = ["cargo fix cold (s)", "cargo fix warm (s)", "ratio cold/ours", "ratio warm/ours"]
        head += ["targets checked", "ours compiles", "cargo-fix result compiles", "cargo fix edits (changed line regions)", "cargo fix's own count (\"Fixed … (N fixes)\" on stderr)", "of which we make the same"]
    rows = [head, ["---"] * len(head)]
    tot = {"files": 0, "lines": 0, "changes": 0, "inactive": 0, "time": 0.0, "cpu": 0.0, "cold": 0.0, "warm": 0.0, "rss": 0,
           "by_rule": {}, "fix_hunks": 0, "same": 0, "ours_ok": 0, "fix_ok": 0, "n": 0, "nfix": 0}
    for r in results:
        o = r.get("ours", {})
        if "lines_read" not in o:
            rows.append([r["crate"], "–", "–", f"ERROR: {o.get('error', '?')[:120]}"] + ["–"] * (len(head) - 4))
            continue
        t = o["time_s"]
        row = [r["crate"], str(o["files_read"]), str(o["lines_read"]), compact_rules(o["by_rule"]), str(o["cfg_inactive"]),
               f"{t * 1000:.0f}", f"{o['cpu_s'] * 1000:.0f}", f"{o['lines_read'] / t:,.0f}", f"{o['peak_rss_kb'] / 1024:.0f} / {(o.get('own_rss_kb') or 0) / 1024:.0f}"]
        tot["files"] += o["files_read"]; tot["lines"] += o["lines_read"]; tot["changes"] += o["changes"]
        tot["inactive"] += o["cfg_inactive"]; tot["time"] += t; tot["cpu"] += o["cpu_s"]; tot["rss"] = max(tot["rss"], o["peak_rss_kb"]); tot["own"] = max(tot.get("own", 0), o.get("own_rss_kb") or 0); tot["n"] += 1
        for k, v in o["by_rule"].items():
            tot["by_rule"][k] = tot["by_rule"].get(k, 0) + v
        if not quick:
            f = r.get("cargo_fix", {})
            cold, warm = f.get("cold_s"), f.get("warm_s")
            row[7:7] = [fmt_s(cold), fmt_s(warm), f"{cold / t:,.0f}×" if cold else "–", f"{warm / t:,.0f}×" if warm else "–"]
            if cold and warm:
                tot["cold"] += cold; tot["warm"] += warm; tot["nfix"] += 1
            edits = f.get("edits", [])
            same = sum(1 for e in edits if e["ours"] == "same")
            row += [r.get("targets") or "none compile", yn(o.get("compiles")), yn(f.get("compiles")),
                    f"{len(edits)} ({f['hunks']})" if "hunks" in f else "–",
                    str(f["stderr_fixed"]["total"]) if "stderr_fixed" in f else "–", str(same) if "hunks" in f else "–"]
            tot["stderr_fixes"] = tot.get("stderr_fixes", 0) + f.get("stderr_fixed", {}).get("total", 0)
            tot["fix_hunks"] += f.get("hunks", 0); tot["same"] += same; tot["fix_edits"] = tot.get("fix_edits", 0) + len(edits)
            tot["ours_ok"] += bool(o.get("compiles")); tot["fix_ok"] += bool(f.get("compiles"))
        rows.append(row)
    t = tot["time"] or 1e-9
    total = ["**total**", str(tot["files"]), str(tot["lines"]), compact_rules(tot["by_rule"]), str(tot["inactive"]),
             f"{tot['time'] * 1000:.0f}", f"{tot['cpu'] * 1000:.0f}", f"{tot['lines'] / t:,.0f}", f"{tot['rss'] / 1024:.0f} / {tot.get('own', 0) / 1024:.0f} (max)"]
    if not quick:
        # Ratios over the crates where both cargo fix runs finished.
        ours_t = sum(r["ours"]["time_s"] for r in results if r.get("cargo_fix", {}).get("warm_s") and r.get("ours", {}).get("time_s"))
        total[7:7] = [fmt_s(tot["cold"]), fmt_s(tot["warm"]),
                      f"{tot['cold'] / ours_t:,.0f}×" if ours_t else "–", f"{tot['warm'] / ours_t:,.0f}×" if ours_t else "–"]
        total += ["", f"{tot['ours_ok']}/{tot['n']}", f"{tot['fix_ok']}/{tot['nfix']}", f"{tot.get('fix_edits', 0)} ({tot['fix_hunks']})", str(tot.get("stderr_fixes", 0)), str(tot["same"])]
    rows.append(total)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"


def missing_report(results) -> str:
    """The cargo-fix edits we do not make (or make differently), per crate, by lint."""
    out = []
    for r in results:
        edits = [e for e in r.get("cargo_fix", {}).get("edits", []) if e["ours"] != "same"]
        if not edits:
            continue
        out.append(f"\n#### {r['crate']}\n")
        by = {}
        for e in edits:
            by.setdefault(e["lint"], []).append(e)
        for lint, es in sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            diff = sum(1 for e in es if e["ours"] == "different")
            out.append(f"- `{lint}`: {len(es)}" + (f" ({diff} where we change the same lines differently)" if diff else ""))
            for e in es:
                tag = " [we differ]" if e["ours"] == "different" else ""
                out.append(f"  - {e['file']}:{e['line']}{tag}: `{e['before']}` → `{e['after']}`")
    return "\n".join(out) + "\n"


def missing_summary(results) -> str:
    """Lint × crate: how many cargo-fix edits we do not make (or make differently)."""
    crates = [r for r in results if r.get("cargo_fix", {}).get("edits")]
    by = {}
    for r in crates:
        for e in r["cargo_fix"]["edits"]:
            if e["ours"] != "same":
                by.setdefault(e["lint"], {}).setdefault(r["crate"], 0)
                by[e["lint"]][r["crate"]] += 1
    if not by:
        return "none\n"
    names = [r["crate"] for r in crates if any(r["crate"] in v for v in by.values())]
    rows = [["lint", "total"] + names, ["---"] * (len(names) + 2)]
    for lint, per in sorted(by.items(), key=lambda kv: -sum(kv[1].values())):
        rows.append([f"`{lint}`", str(sum(per.values()))] + [str(per.get(n, "")) for n in names])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"


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
    return "\n".join(out) + "\n"


def ours_only_report(results) -> str:
    """Our changes that cargo fix does not make, with their cfg status."""
    out = []
    for r in results:
        o = [x for x in r.get("ours_only", []) if x["rule"] != "edition-manifest"]
        if not o:
            continue
        out.append(f"- {r['crate']}: " + "; ".join(f"{x['file']}:{x['line']} `{x['rule']}` ({x['cfg']}): `{x['before']}` → `{x['after']}`" for x in o))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("crates", nargs="*", help="only the corpus crates whose folder name contains one of these")
    ap.add_argument("--corpus", type=Path, help="unpacked corpus (default: fetch into target/corpus-src)")
    ap.add_argument("--quick", action="store_true", help="only our tool's dry run: no cargo fix, no cargo check")
    ap.add_argument("--runs", type=int, default=3, help="dry runs of our tool per crate; the best is kept (default 3)")
    ap.add_argument("--timeout", type=int, default=1800, help="limit for each cargo check / fetch, in seconds")
    ap.add_argument("--fix-timeout", type=int, default=900, help="limit for each cargo fix run, in seconds (then skipped)")
    ap.add_argument("--skip-fix", action="append", default=[], help="crates (substring) for which cargo fix is not run")
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

    exe = build_tool()
    started = time.time()
    results = []
    kept = []
    if args.merge and args.out.is_file():
        old = json.loads(args.out.read_text())
        names = {c.name for c in crates}
        kept = [r for r in old["crates"] if r["crate"] not in names]
        args.earlier_commands = old.get("commands", [old.get("command")])
        for r in old["crates"]:
            r.setdefault("run", old.get("date"))
        results = kept
    for c in crates:
        t0 = time.time()
        results.append(bench_crate(exe, c, args) | {"run": datetime.datetime.now().isoformat(timespec="seconds")})
        results.sort(key=lambda r: r["crate"])
        log(f"{c.name}: done in {time.time() - t0:.0f}s")
        # Written after each crate, so a long run can be read before it ends.
        write_json(args, corpus, exe, results, started, partial=True)
    write_json(args, corpus, exe, results, started, partial=False)
    print_report(results, args.quick)


def print_report(results, quick):
    print(table(results, quick))
    for r in results:
        for n in r.get("notes", []):
            print(f"- {r['crate']}: {n}")
        if r.get("ours", {}).get("error"):
            print(f"- {r['crate']}: cargo-migrate error: {r['ours']['error']}")
    if not quick:
        print("\n### cargo fix edits we do not make (or make differently), by lint and crate\n")
        print(missing_summary(results))
        print("\n### cargo fix edits we do not make (or make differently)\n")
        print(missing_report(results))
        print("\n### Edition lints that fired but cargo fix did not fix\n")
        print(unfixed_report(results))
        print("\n### Our source changes that cargo fix does not make\n")
        print(ours_only_report(results))


def write_json(args, corpus, exe, results, started, partial):
    args.out.parent.mkdir(parents=True, exist_ok=True)
    _, rustc, _, _ = run(["rustc", "-V"])
    doc = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "partial": partial,
        "elapsed_s": time.time() - started, "command": " ".join(sys.argv),
        "commands": getattr(args, "earlier_commands", []) + [" ".join(sys.argv)], "corpus": str(corpus), "binary": str(exe),
        "machine": {"nproc": os.cpu_count(), "rustc": rustc.strip(), "platform": platform.platform(),
                    "loadavg_at_end": os.getloadavg()},
        "quick": args.quick, "runs": args.runs, "edition_lints": sorted(edition_lints()), "crates": results,
    }
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

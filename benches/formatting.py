#!/usr/bin/env python3
"""Does `cargo migrate edition --apply` leave a `cargo fmt`-clean crate clean?

    python3 benches/formatting.py [--binary PATH] [--only-clean] NAME-VERSION ...

Each crate is unpacked from crates.io (cargo's registry; `benches/support/registry.py`)
into target/formatting-src, copied to a temporary folder, checked with
`cargo fmt --check -- --style-edition 2021` (the style of its edition, 2021), migrated with
`--apply --allow-no-vcs --llm none` (the compiler phase on: rustc's `unsafe` blocks; the
judge without a model: every `if let` it cannot decide becomes a `match`), and checked
again with the same style edition. Prints one Markdown row a crate: files rustfmt would
change before, the migration's block and `match` changes, how many of them kept rustc's
edits as they came (not laid out: `{ unsafe ` … `}}`), files and hunks rustfmt would
change after (a hunk: a `Diff in FILE:LINE` of rustfmt's check), and those that are new
(by `FILE:LINE`: exact for a crate clean before).

`--binary` measures another build of cargo-migrate (default: target/debug/cargo-migrate);
`docs/formatting.md` has the figures.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "support"))
import registry  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def fmt_hunks(crate: Path) -> list[str]:
    """The `FILE:LINE`s `cargo fmt --check` (style edition 2021) would change."""
    out = subprocess.run(["cargo", "fmt", "--check", "--", "--style-edition", "2021"], cwd=crate, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(f"cargo fmt failed in {crate}: {out.stderr}")
    text = re.sub(r"\x1b\[[0-9;]*m|\x1b\(B", "", out.stdout)
    return [m.group(1).replace(str(crate) + "/", "") for m in re.finditer(r"^Diff in (\S+):", text, re.M)]


def measure(binary: Path, name: str, version: str, target: Path) -> dict:
    src = registry.fetch(name, version, ROOT / "target/formatting-src")
    with tempfile.TemporaryDirectory() as tmp:
        crate = Path(tmp) / src.name
        shutil.copytree(src, crate)
        before = fmt_hunks(crate)
        env = dict(os.environ, CARGO_TARGET_DIR=str(target / src.name))
        run = subprocess.run([str(binary), "edition", "--apply", "--allow-no-vcs", "--llm", "none", "--format", "json", "--manifest-path", str(crate / "Cargo.toml")],
                             capture_output=True, text=True, env=env)
        doc = json.loads(run.stdout) if run.stdout.strip() else {"changes": []}
        rules = collections.Counter(c["rule"] for c in doc["changes"])
        # rustc's suggestion left as it came (`{ unsafe ` … `}}`, `} _ => `): not laid out.
        raw = sum(1 for c in doc["changes"] if any(e["replacement"].startswith("{ unsafe ") or "} _ =>" in e["replacement"] for e in c["edits"]))
        after = fmt_hunks(crate)
    files = lambda hunks: len({h.rsplit(":", 1)[0] for h in hunks})  # noqa: E731
    return {
        "crate": src.name,
        "exit": run.returncode,
        "files_before": files(before),
        "unsafe_blocks": rules["unsafe_op_in_unsafe_fn"],
        "matches": rules["if_let_rescope"] + rules["if-let-guard-method"],
        "not_laid_out": raw,
        "files_after": files(after),
        "hunks_after": len(after),
        "new_hunks": sorted(set(after) - set(before)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("crates", nargs="+", help="NAME-VERSION, e.g. tokio-1.38.0")
    ap.add_argument("--binary", type=Path, default=ROOT / "target/debug/cargo-migrate")
    ap.add_argument("--target", type=Path, default=ROOT / "target/formatting-build", help="where the crates are built (kept between runs)")
    args = ap.parse_args()
    print("| crate | rustfmt before (files) | `unsafe` blocks | `match`es | not laid out | rustfmt after (files / hunks) | hunks the migration made |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.crates:
        name, version = spec.rsplit("-", 1)
        r = measure(args.binary, name, version, args.target)
        where = ", ".join(r["new_hunks"][:4]) + (" …" if len(r["new_hunks"]) > 4 else "")
        print(f"| {r['crate']} | {r['files_before']} | {r['unsafe_blocks']} | {r['matches']} | {r['not_laid_out']} | {r['files_after']} / {r['hunks_after']} | {len(r['new_hunks'])} {where} |",
              flush=True)


if __name__ == "__main__":
    main()

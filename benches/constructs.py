#!/usr/bin/env python3
"""Which single-file programs compile on edition 2024 after a migration: `cargo migrate
edition --apply` (this build, and optionally another binary, e.g. main's) against
`cargo fix --edition`. Made for the constructs `cargo fix` leaves broken
(docs/constructs.md): rustc's UI tests of the 2024 migration lints, or any `.rs` files.

Usage:
    python3 benches/constructs.py [--before BIN] FILE.rs ...

Each file becomes `src/main.rs` of a fresh 2021 crate in a temporary directory. A file
counts when that crate builds on 2021 with `--cap-lints=warn` (rustc 1.95 denies some of
the migration lints by default on 2021 too: the tools run with the same flag, so that
both see warnings). Per tool, on a copy: the migration, then `edition = "2024"` (cargo
fix does not set it) and a plain `cargo check`; the errors left are counted. Prints a
Markdown table. Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THIS = ROOT / "target" / "debug" / "cargo-migrate"
MANIFEST = '[package]\nname = "case"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n'
CAPPED = {"RUSTFLAGS": "--cap-lints=warn"}


def cargo(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "RUSTFLAGS"}
    full.update(CARGO_TERM_COLOR="never", **(env or {}))
    return subprocess.run(args, cwd=cwd, env=full, capture_output=True, text=True)


def crate(root: Path, name: str, source: str) -> Path:
    path = root / name
    (path / "src").mkdir(parents=True)
    (path / "Cargo.toml").write_text(MANIFEST)
    (path / "src" / "main.rs").write_text(source)
    return path


def errors_on_2024(path: Path) -> int | None:
    manifest = path / "Cargo.toml"
    manifest.write_text(re.sub(r'edition = "20\d\d"', 'edition = "2024"', manifest.read_text()))
    out = cargo(["cargo", "check", "--quiet", "--message-format=short"], path)
    if out.returncode == 0:
        return 0
    return len([l for l in out.stderr.splitlines() if ": error" in l]) or None


def migrate(binary: Path, path: Path) -> None:
    cargo([str(binary), "migrate", "edition", "--apply", "--allow-no-vcs", "--llm", "none"], path, CAPPED)


def cargo_fix(path: Path) -> None:
    cargo(["cargo", "fix", "--edition", "--allow-no-vcs", "--allow-dirty"], path, CAPPED)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="another cargo-migrate binary to compare with")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    if not THIS.exists():
        print(f"build first: {THIS} is missing", file=sys.stderr)
        return 2
    tools: list[tuple[str, object]] = []
    if args.before:
        tools.append(("before", lambda p: migrate(args.before, p)))
    tools += [("this build", lambda p: migrate(THIS, p)), ("cargo fix", cargo_fix)]
    print("| file | " + " | ".join(name for name, _ in tools) + " |")
    print("|---|" + "---|" * len(tools))
    totals = [0] * len(tools)
    counted = 0
    with tempfile.TemporaryDirectory() as tmp:
        for file in args.files:
            source = file.read_text()
            base = crate(Path(tmp), f"{file.stem}-2021", source)
            if cargo(["cargo", "check", "--quiet"], base, CAPPED).returncode != 0:
                print(f"| {file.name} | " + " | ".join("not on 2021" for _ in tools) + " |")
                continue
            counted += 1
            cells = []
            for i, (name, run) in enumerate(tools):
                copy = crate(Path(tmp), f"{file.stem}-{i}", source)
                run(copy)
                left = errors_on_2024(copy)
                if left == 0:
                    totals[i] += 1
                cells.append("compiles" if left == 0 else f"{left or '?'} errors")
                shutil.rmtree(copy / "target", ignore_errors=True)
            print(f"| {file.name} | " + " | ".join(cells) + " |")
    print(f"| **compile on 2024** | " + " | ".join(f"{t} of {counted}" for t in totals) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compile a pack's examples against the real releases (Python stdlib, cargo).

    python3 scripts/compile-pack-examples.py migrations/nom/7-8.toml 7.1.3 8.0.0
    python3 scripts/compile-pack-examples.py migrations/indexmap/1-2.toml 1.9.3 2.7.0 \
        --features serde --with serde_json=1

`cargo migrate pack test` checks that each rule rewrites its examples as written; this
checks that the examples are right about the crate: every invalid example's `code` (and
every valid and noted example) must compile against the old release, and every `fixed`
(and every valid example) against the new one; a shim's examples too. Each example becomes a module of a throwaway crate
under target/pack-examples/, one crate per release; the pack's `crate` is its
dependency; an example with an `extern crate` (which may load macros only at a crate
root) is a crate of its own, a `[[example]]` library target. Prints the errors with the rule and example they come from; exits 1 if any.
Needs cargo's registry (through cargo only) the first time.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(pack, version, side, features=(), extra=()):
    """Checks the examples of `side` ("code" or "fixed") against `version`: the errors."""
    krate = pack["crate"]
    name = f"examples-{krate}-{version}".replace(".", "-")
    crate = ROOT / "target" / "pack-examples" / name
    (crate / "src").mkdir(parents=True, exist_ok=True)
    manifest = (f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n\n'
                f'[dependencies]\n{krate} = {{ version = "={version}", features = {list(features)!r} }}\n'
                .replace("'", '"') + "".join(f'{n} = "{v}"\n' for n, v in extra))
    shutil.rmtree(crate / "examples", ignore_errors=True)
    (crate / "examples").mkdir()
    header = "#![allow(unused, deprecated, dead_code)]\n"
    modules = []
    # Shims' examples are checked like rules': the code against the old release, the
    # result (the shim added) against the new one.
    for rule in pack.get("rule", []) + pack.get("shim", []):
        examples = rule.get("examples", {})
        items = [(f"valid{i}", v) for i, v in enumerate(examples.get("valid", []))]
        items += [(f"{side}{i}", e[side]) for i, e in enumerate(examples.get("invalid", []))]
        if side == "code":
            # Noted examples are left as they are, for review: old code, which need not
            # compile against the new release.
            items += [(f"noted{i}", v) for i, v in enumerate(examples.get("noted", []))]
        for label, code in items:
            module = f"r_{rule['id'].replace('-', '_')}_{label}"
            if re.search(r"^\s*(#\[macro_use\]\s*)?extern crate", code, re.M):
                (crate / "examples" / f"{module}.rs").write_text(header + code)
                manifest += f'\n[[example]]\nname = "{module}"\ncrate-type = ["lib"]\n'
            else:
                modules.append(f"mod {module} {{\n{code}\n}}\n")
    (crate / "Cargo.toml").write_text(manifest)
    text = header + "".join(modules)
    (crate / "src" / "lib.rs").write_text(text)
    r = subprocess.run(["cargo", "check", "-q", "--lib", "--examples", "--message-format=short"], cwd=crate,
                       capture_output=True, text=True,
                       env={**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target" / "pack-examples" / "target")})
    lines = text.splitlines()
    errors = []
    for line in r.stderr.splitlines():
        own = re.match(r"examples/(\w+)\.rs:\d+:\d+: error", line)
        if own:
            errors.append(f"{own.group(1)}: {line}")
            continue
        m = re.match(r"src/lib.rs:(\d+):\d+: error", line)
        if not m:
            continue
        at = int(m.group(1)) - 1
        module = next((lines[k].split()[1] for k in range(at, -1, -1) if lines[k].startswith("mod r_")), "?")
        errors.append(f"{module}: {line}")
    if r.returncode != 0 and not errors:
        errors.append(r.stderr.strip() or "cargo check failed")
    return errors


def main():
    ap = argparse.ArgumentParser(description="Compile a pack's examples against the real releases.")
    ap.add_argument("pack")
    ap.add_argument("old", help="the old release, exactly (7.1.3)")
    ap.add_argument("new", help="the new release, exactly (8.0.0)")
    ap.add_argument("--features", default="", help="features of the crate the examples need (both releases)")
    ap.add_argument("--with", dest="extra", action="append", default=[], help="another dependency, NAME=REQ")
    args = ap.parse_args()
    pack = tomllib.loads(Path(args.pack).read_text())
    features = [f for f in args.features.split(",") if f]
    extra = [tuple(e.split("=", 1)) for e in args.extra]
    failed = False
    for version, side in ((args.old, "code"), (args.new, "fixed")):
        errors = build(pack, version, side, features, extra)
        print(f"{pack['crate']} {version}: {'valid and ' + side} examples: {len(errors)} error(s)")
        for e in errors:
            print("  " + e)
        failed |= bool(errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compile a pack's examples against the real releases (Python stdlib, cargo).

    python3 scripts/compile-pack-examples.py migrations/nom/7-8.toml 7.1.3 8.0.0

`cargo migrate pack test` checks that each rule rewrites its examples as written; this
checks that the examples are right about the crate: every invalid example's `code` (and
every valid example) must compile against the old release, and every `fixed` (and every
valid example) against the new one. Each example becomes a module of a throwaway crate
under target/pack-examples/, one crate per release; the pack's `crate` is its
dependency. Prints the errors with the rule and example they come from; exits 1 if any.
Needs cargo's registry (through cargo only) the first time.
"""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(pack, version, side):
    """Checks the examples of `side` ("code" or "fixed") against `version`: the errors."""
    krate = pack["crate"]
    name = f"examples-{krate}-{version}".replace(".", "-")
    crate = ROOT / "target" / "pack-examples" / name
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n\n'
        f'[dependencies]\n{krate} = "={version}"\n')
    modules, where = [], []
    for rule in pack.get("rule", []):
        examples = rule.get("examples", {})
        items = [(f"valid{i}", v) for i, v in enumerate(examples.get("valid", []))]
        items += [(f"{side}{i}", e[side]) for i, e in enumerate(examples.get("invalid", []))]
        for label, code in items:
            module = f"r_{rule['id'].replace('-', '_')}_{label}"
            modules.append(f"mod {module} {{\n{code}\n}}\n")
            where.append(module)
    text = "#![allow(unused, deprecated, dead_code)]\n" + "".join(modules)
    (crate / "src" / "lib.rs").write_text(text)
    r = subprocess.run(["cargo", "check", "-q", "--message-format=short"], cwd=crate,
                       capture_output=True, text=True,
                       env={**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target" / "pack-examples" / "target")})
    lines = text.splitlines()
    errors = []
    for line in r.stderr.splitlines():
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
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    pack = tomllib.loads(Path(sys.argv[1]).read_text())
    failed = False
    for version, side in ((sys.argv[2], "code"), (sys.argv[3], "fixed")):
        errors = build(pack, version, side)
        print(f"{pack['crate']} {version}: {'valid and ' + side} examples: {len(errors)} error(s)")
        for e in errors:
            print("  " + e)
        failed |= bool(errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

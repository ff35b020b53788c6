"""What the Python benchmarks share: unpacking published crates from cargo's registry.

Standard library only. `benches/upgrade.py` and `benches/sweep.py` import it.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path


def inside_a_git_tree(path):
    """Whether `path` or a folder above it holds a `.git`."""
    return any((p / ".git").exists() for p in [path, *path.parents])


def cargo_home():
    return Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))


def fetch(name, version, dest):
    """The unpacked source of name-version under `dest` (shared/corpus/fetch.sh's
    technique: `cargo fetch` through a throwaway manifest, only when cargo's registry
    cache does not hold the `.crate` yet, then the archive unpacked)."""
    out = dest / f"{name}-{version}"
    if (out / "Cargo.toml").is_file():
        return out
    cached = list((cargo_home() / "registry" / "cache").glob(f"*/{name}-{version}.crate"))
    if not cached:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp)
            (p / "src").mkdir()
            (p / "src/lib.rs").write_text("")
            (p / "Cargo.toml").write_text(
                f'[package]\nname = "fetch-probe"\nversion = "0.0.0"\nedition = "2021"\n\n[workspace]\n\n'
                f'[dependencies]\n{name} = "={version}"\n')
            subprocess.run(["cargo", "fetch", "-q"], cwd=p, check=True)
        cached = list((cargo_home() / "registry" / "cache").glob(f"*/{name}-{version}.crate"))
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(cached[0]) as t:
        t.extractall(dest, filter="data")
    return out

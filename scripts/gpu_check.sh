#!/usr/bin/env bash
# The device check (scripts/gpu_check.py): install snndeploy from this checkout on top of the machine's
# own packages (no network: pure-Python packages it lacks travel as wheels in .whl/), then run every
# probe and write gpu_check.json to $OUT (or the current folder). DEV=cpu: a dry run on the CPU.
set -uo pipefail
cd "$(dirname "$0")/.."
out_dir=${OUT:-.}
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . || { echo "error: cannot install snndeploy"; exit 2; }
PYTHONUNBUFFERED=1 timeout 470 python3 scripts/gpu_check.py --out "$out_dir/gpu_check.json" "$@"

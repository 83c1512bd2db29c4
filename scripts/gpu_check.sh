#!/usr/bin/env bash
# The device check (scripts/gpu_check.py, whose docstring says what each probe checks): snndeploy runs from this
# checkout (PYTHONPATH, nothing installed); packages the machine lacks travel as wheels in .whl/ and are unpacked to
# a private folder (no network, no dependencies resolved). All probes together fit GPU_CHECK_BUDGET seconds (510 =
# 8.5 minutes, counted from this script's start) by their own step budgets; one JSON goes to $OUT (or the current
# folder), the probes' logs to gpu_check_logs/ beside it. DEV=cpu: the dry run on the CPU. Exit 0 when no probe
# failed, 1 when one did, 2 when it cannot start.
set -uo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
out_dir=${OUT:-.}
if compgen -G ".whl/*.whl" >/dev/null; then
  site=${TMPDIR:-/tmp}/snndeploy-gpu-check-site
  PIP_ROOT_USER_ACTION=ignore "$py" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
    --no-cache-dir --upgrade --target "$site" .whl/*.whl \
    || { echo "error: cannot install the wheels in .whl/"; exit 2; }
  export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
budget=$(( ${GPU_CHECK_BUDGET:-510} - SECONDS ))
exec "$py" scripts/gpu_check.py --out "$out_dir/gpu_check.json" --logs "$out_dir/gpu_check_logs" --budget "$budget" "$@"

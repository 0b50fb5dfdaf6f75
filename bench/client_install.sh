#!/usr/bin/env bash
# Measure one fresh install from the package registry: wall time and the venv's size on disk.
#
#   bench/client_install.sh client      # workflowai-client (client/): what a CI runner installs
#   bench/client_install.sh full        # workflowai-flows (.): what a worker installs
#
# Each run makes a new venv in a temporary folder and installs with --no-cache-dir, so pip's
# cache is neither read nor filled and both kinds are measured the same way (every wheel comes
# from the registry). Constraints: constraints.txt, the versions the test suite passed with.
# Prints one line: kind, seconds, MiB, package count. KEEP=1 keeps the venv and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: bench/client_install.sh client|full}
case $kind in
    client) target=./client ;;
    full) target=. ;;
    *) echo "unknown kind $kind (client|full)" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
root=$(mktemp -d)
"$python" -m venv "$root/venv"
start=$(date +%s.%N)
"$root/venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check -q \
    -c constraints.txt "$target"
end=$(date +%s.%N)
mib=$(du -sm "$root/venv" | cut -f1)
count=$("$root/venv/bin/python" -m pip list --format=freeze --disable-pip-version-check | wc -l)
heavy=$("$root/venv/bin/python" -m pip list --format=freeze --disable-pip-version-check \
    | grep -ciE '^(torch|transformers|sentence-transformers)==' || true)
printf '%s install: %.0f s, %s MiB, %s packages (torch/transformers/sentence-transformers: %s)\n' \
    "$kind" "$(echo "$end - $start" | bc)" "$mib" "$count" "$heavy"
if [[ "${KEEP:-0}" == 1 ]]; then
    echo "venv: $root/venv"
else
    rm -rf "$root"
fi

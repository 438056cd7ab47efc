#!/usr/bin/env bash
# Install the peers that Baton is benchmarked against into bench/.venv-peers, apart from
# Baton's own environment. Does nothing when bench/requirements-peers.txt is unchanged
# since the last install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
requirements="$here/requirements-peers.txt"
stamp="$venv/.installed-$(sha1sum "$requirements" | cut -c1-12)"
python="${PYTHON:-python3}"

if [[ -f "$stamp" ]]; then
    exit 0
fi
echo "installing the benchmark peers into $venv" >&2
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
rm -f "$venv"/.installed-*
touch "$stamp"

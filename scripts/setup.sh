#!/usr/bin/env bash
# Set up everything hull needs on a Debian machine, as root: system packages,
# a virtualenv with the pinned Python dependencies, and `hull` on the PATH.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev gcc
  busybox-static tar iproute2 nftables iptables libseccomp2 kmod procps psmisc
  skopeo runc crun docker.io docker-registry nodejs
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The docker.io package enables its daemon; hull's tests start their own on a private socket.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
  fi
fi

# npm ships inside some nodejs builds; Debian's own nodejs needs the separate package.
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
  # "compat" editable mode is a plain .pth path entry: no import hook on every start-up.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e . \
    --config-settings editable_mode=compat
  echo "$want" > "$stamp"
fi
# The entry point skips the site module (see the script), then goes on the PATH.
.venv/bin/python scripts/install_launcher.py .venv "$PWD"
ln -sf "$PWD/.venv/bin/hull" /usr/local/bin/hull
# Byte-compile hull itself so start-up never recompiles (even where the environment
# sets PYTHONDONTWRITEBYTECODE).
.venv/bin/python -m compileall -q hull >/dev/null

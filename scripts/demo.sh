#!/usr/bin/env bash
# Set up hull and run its main job: make a busybox base image locally (from
# Debian's busybox-static, no internet), import it, and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

tarball=$(mktemp --suffix=.tar)
trap 'rm -f "$tarball"' EXIT
.venv/bin/python scripts/make_busybox_tar.py "$tarball"

set -x
hull import --change 'CMD ["/bin/sh"]' --message "busybox from Debian's busybox-static" \
  "$tarball" busybox:latest
hull images
hull history busybox
hull image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} {{json .Config.Cmd}}' busybox

#!/usr/bin/env bash
# Set up hull and run its main job: make a busybox base image locally (from
# Debian's busybox-static, no internet), build an app image from a Dockerfile on
# it, and run it as a container serving HTTP on a published port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

work=$(mktemp -d)
cleanup() {
  hull rm -f demo-web >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

.venv/bin/python scripts/make_busybox_tar.py "$work/busybox.tar"
mkdir "$work/app"
cat > "$work/app/Dockerfile" <<'DOCKERFILE'
FROM busybox:latest
WORKDIR /srv
COPY index.html .
RUN echo "built on $(uname -m) at $(date -u +%FT%TZ)" > build-info.txt
EXPOSE 8080
CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/srv"]
DOCKERFILE
echo '<h1>Hello from a hull container</h1>' > "$work/app/index.html"

set -x
hull import --change 'CMD ["/bin/sh"]' --message "busybox from Debian's busybox-static" \
  "$work/busybox.tar" busybox:latest
hull build --progress plain -t demo-app:v1 "$work/app"
hull images
hull history demo-app:v1
hull run --rm demo-app:v1 cat /srv/build-info.txt
hull run -d --name demo-web -p 127.0.0.1:18080:8080 demo-app:v1
hull ps --format "table {{.Names}}\t{{.Image}}\t{{.Ports}}\t{{.Status}}"
for _ in $(seq 50); do
  busybox wget -q -O - http://127.0.0.1:18080/ && break
  sleep 0.1
done
hull logs demo-web
hull stop demo-web
hull rm demo-web

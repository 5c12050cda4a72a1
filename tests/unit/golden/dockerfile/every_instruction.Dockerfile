ARG BASE=alpine:3.19
FROM --platform=$BUILDPLATFORM ${BASE} AS Base
MAINTAINER Jane Doe <jane@example.com>
LABEL org.opencontainers.image.title="demo app" version=1.0
ENV PATH=/opt/bin:$PATH LANG=C.UTF-8
ARG VERSION=1.2.3 TARGETARCH
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN --network=none --security=sandbox apk add --no-cache curl
RUN ["/bin/echo", "exec", "form"]
USER 1000:1000
WORKDIR build
VOLUME /data /cache
VOLUME ["/json/volume"]
EXPOSE 80/udp 8000-8002 443
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1
ONBUILD COPY . /src
ONBUILD RUN make /src
ADD --chown=1000:1000 --chmod=0755 --link --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool.tar.gz /opt/
ADD --keep-git-dir=true git@github.com:user/repo.git /src/repo
COPY --from=0 --chown=app --chmod=644 --parents --exclude=*.md --exclude=tests/ src/ docs/ /dest/
COPY --link ["a file.txt", "/dest/with space/"]
ENTRYPOINT ["/entrypoint.sh"]
CMD ["--help"]
FROM base
ENTRYPOINT exec /app
HEALTHCHECK NONE

FROM golang:1.22 AS build
RUN --mount=type=cache,target=/root/.cache/go-build,sharing=locked,id=gocache go build ./...
RUN --mount=type=bind,source=go.sum,target=go.sum --mount=type=bind,target=/src,rw go mod download
RUN --mount=type=tmpfs,target=/tmp,size=64m true
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required,mode=0400,uid=1000,gid=1000 cat /root/.npmrc
RUN --mount=type=ssh ssh -T git@github.com
RUN --mount=target=/ctx,from=build,source=/out ls /ctx
RUN --mount=type=cache,target=/cache,uid=$UID true
RUN --mount="type=bind,target=/quoted path,ro" ls

# syntax=docker/dockerfile:1
FROM golang:1.22
RUN --mount=type=bind,source=go.mod,target=/src/go.mod,ro go version
RUN --mount=type=cache,id=gomod,target=/go/pkg/mod,sharing=locked,mode=0755,uid=1000,gid=1000 go mod download
RUN --mount=type=tmpfs,target=/tmp/scratch ls /tmp/scratch
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true cat /root/.npmrc
RUN --mount=type=ssh,id=default,required git clone git@github.com:org/repo.git
RUN --mount=target=/src,from=builder,source=/out,rw ls /src

FROM alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS pinned
FROM registry.example.com:5000/team/app:1.2.3
FROM ghcr.io/org/img:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

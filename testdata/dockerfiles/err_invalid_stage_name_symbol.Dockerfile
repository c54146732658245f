FROM alpine AS build:1

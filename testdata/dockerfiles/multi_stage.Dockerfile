FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
FROM alpine:3.19 AS runtime
COPY --from=build /src/app /app
FROM runtime
CMD ["/app"]

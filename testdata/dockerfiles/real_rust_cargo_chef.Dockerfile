# syntax=docker/dockerfile:1
ARG RUST_VERSION=1.77
ARG APP_NAME=api

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG APP_NAME
COPY --from=planner /app/recipe.json recipe.json
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/app/target,id=target-${APP_NAME} \
    cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --bin ${APP_NAME} \
 && cp ./target/release/${APP_NAME} /bin/server

FROM debian:bookworm-slim AS final
ARG UID=10001
RUN adduser \
    --disabled-password \
    --gecos "" \
    --home "/nonexistent" \
    --shell "/sbin/nologin" \
    --no-create-home \
    --uid "${UID}" \
    appuser
USER appuser
COPY --from=builder /bin/server /bin/
EXPOSE 3000
CMD ["/bin/server"]

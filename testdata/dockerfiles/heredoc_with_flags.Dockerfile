FROM python:3.12
RUN --mount=type=cache,target=/root/.cache/pip <<EOF
pip install -r requirements.txt
EOF
COPY --chmod=0755 <<EOF /usr/local/bin/entrypoint.sh
#!/bin/sh
exec "$@"
EOF

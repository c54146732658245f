FROM python:3.12-slim
RUN cat <<EOF > /etc/motd
Welcome to $HOSTNAME
EOF
RUN python3 <<EOF
import sys
print("python", sys.version)
EOF
RUN <<EOF bash -ex
set -o pipefail
echo "done"
EOF

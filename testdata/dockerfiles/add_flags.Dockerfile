FROM alpine
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://mirrors.edge.kernel.org/pub/linux/kernel/Historic/linux-0.01.tar.gz /
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.13.0 /buildkit
ADD --link --chown=1000:1000 --chmod=644 rootfs.tar.gz /opt/
ADD --exclude=*.txt src/ /dst/
ADD ["https://example.com/a b.txt", "/dl/"]

#pragma once
// Passing a file descriptor over a unix socket (SCM_RIGHTS): how a RUN step
// hands its seccomp listener to the supervisor outside it.
namespace slipway {

// Sends `fd` with one byte of data. Returns false if sendmsg failed.
bool send_fd(int sock, int fd);

// The received fd (CLOEXEC), or -1 when the peer closed the socket or sent
// no descriptor.
int receive_fd(int sock);

}  // namespace slipway

#pragma once
// Slipway reaches files by descriptor through /proc/self/fd: modes and
// xattrs of O_PATH fds when unpacking and snapshotting, the in-root path of
// a chown'ed file, /dev/fd in a chrooted step. Without /proc those fail deep
// inside with a bare ENOENT; this says what is wrong up front.
namespace slipway {

// Throws Error naming the fix when /proc/self/fd is not there.
void require_proc();

}  // namespace slipway

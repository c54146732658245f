#pragma once
// The one error type of Slipway. It carries a message meant for the user and
// the chain of contexts it passed through ("pulling docker.io/library/alpine:
// fetching blob sha256:...: connection reset"), plus the process exit code the
// CLI should use. Code throws it; only main() catches it.
#include <cerrno>
#include <exception>
#include <string>

namespace slipway {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // any failure, including a Dockerfile error
  kExitUsage = 2,    // bad command line
};

class Error : public std::exception {
 public:
  explicit Error(std::string message, int exit_code = kExitFailure)
      : message_(std::move(message)), exit_code_(exit_code) {}

  // Returns the same error with "context: " in front, so callers can say what
  // they were doing without losing the original cause or exit code.
  Error with_context(const std::string& context) const {
    Error e = *this;
    e.message_ = context + ": " + message_;
    return e;
  }

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const noexcept { return message_; }
  int exit_code() const noexcept { return exit_code_; }

 private:
  std::string message_;
  int exit_code_;
};

// A usage error: exit code 2 and a one-line reason, as git and kaniko do.
inline Error usage_error(std::string message) { return Error(std::move(message), kExitUsage); }

// "what: strerror(err)" for a failed syscall.
Error sys_error(const std::string& what, int err = errno);

}  // namespace slipway

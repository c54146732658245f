#pragma once
// Command-line flags in the style of git and kaniko: --name=value,
// --name value, -n value, repeatable list flags, and --help. An unknown flag
// or a missing value is a usage error (exit code 2, one-line reason).
#include <functional>
#include <string>
#include <vector>

namespace slipway::cli {

class FlagSet {
 public:
  // `command` is "slipway parse"; `usage` the synopsis after it
  // ("[--json] FILE"); `summary` one paragraph shown by --help.
  FlagSet(std::string command, std::string usage, std::string summary);

  void add_bool(const std::string& name, char short_name, bool* out, const std::string& help);
  void add_string(const std::string& name, char short_name, const std::string& metavar,
                  std::string* out, const std::string& help);
  void add_list(const std::string& name, char short_name, const std::string& metavar,
                std::vector<std::string>* out, const std::string& help);
  void add_int(const std::string& name, char short_name, const std::string& metavar, int* out,
               const std::string& help);

  // Parses args (without the program and command names). Returns the
  // positional arguments. Sets help_requested() on --help/-h and stops.
  // "--" ends flag parsing.
  std::vector<std::string> parse(const std::vector<std::string>& args);
  bool help_requested() const { return help_requested_; }
  std::string help() const;

 private:
  struct Flag {
    std::string name;
    char short_name;
    std::string metavar;  // empty for booleans
    std::string help;
    std::function<void(const std::string&)> set;
  };
  const Flag* find_long(const std::string& name) const;
  const Flag* find_short(char c) const;

  std::string command_, usage_, summary_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace slipway::cli

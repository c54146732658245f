#include "builder/flags.h"

#include <charconv>

#include "common/error.h"

namespace slipway::cli {

FlagSet::FlagSet(std::string command, std::string usage, std::string summary)
    : command_(std::move(command)), usage_(std::move(usage)), summary_(std::move(summary)) {}

void FlagSet::add_bool(const std::string& name, char short_name, bool* out, const std::string& help) {
  flags_.push_back({name, short_name, "", help, [out, name](const std::string& v) {
                      if (v.empty() || v == "true" || v == "1") *out = true;
                      else if (v == "false" || v == "0") *out = false;
                      else throw usage_error("flag --" + name + " takes true or false, not \"" + v + "\"");
                    }});
}

void FlagSet::add_string(const std::string& name, char short_name, const std::string& metavar,
                         std::string* out, const std::string& help) {
  flags_.push_back({name, short_name, metavar, help, [out](const std::string& v) { *out = v; }});
}

void FlagSet::add_list(const std::string& name, char short_name, const std::string& metavar,
                       std::vector<std::string>* out, const std::string& help) {
  flags_.push_back({name, short_name, metavar, help, [out](const std::string& v) { out->push_back(v); }});
}

void FlagSet::add_int(const std::string& name, char short_name, const std::string& metavar, int* out,
                      const std::string& help) {
  flags_.push_back({name, short_name, metavar, help, [out, name](const std::string& v) {
                      int n = 0;
                      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                      if (ec != std::errc() || p != v.data() + v.size()) {
                        throw usage_error("flag --" + name + " takes an integer, not \"" + v + "\"");
                      }
                      *out = n;
                    }});
}

const FlagSet::Flag* FlagSet::find_long(const std::string& name) const {
  for (const auto& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FlagSet::Flag* FlagSet::find_short(char c) const {
  for (const auto& f : flags_) {
    if (c != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

std::vector<std::string> FlagSet::parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "--help" || a == "-h") {
      help_requested_ = true;
      return positional;
    }
    if (a.size() < 2 || a[0] != '-') {
      positional.push_back(a);
      continue;
    }
    const Flag* flag = nullptr;
    std::string shown;
    std::string value;
    bool has_value = false;
    if (a[1] == '-') {
      std::string name = a.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        has_value = true;
      }
      flag = find_long(name);
      shown = "--" + name;
    } else {
      flag = find_short(a[1]);
      shown = a.substr(0, 2);
      if (a.size() > 2) {
        value = a.substr(a[2] == '=' ? 3 : 2);
        has_value = true;
      }
    }
    if (!flag) throw usage_error("unknown flag: " + shown + " (see '" + command_ + " --help')");
    if (flag->metavar.empty()) {
      flag->set(has_value ? value : "");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) throw usage_error("flag " + shown + " needs a value");
      value = args[++i];
    }
    flag->set(value);
  }
  return positional;
}

std::string FlagSet::help() const {
  std::string out = "usage: " + command_ + " " + usage_ + "\n\n" + summary_ + "\n";
  if (!flags_.empty()) out += "\nOptions:\n";
  for (const auto& f : flags_) {
    std::string left = "    ";
    left += f.short_name ? std::string("-") + f.short_name + ", " : "    ";
    left += "--" + f.name;
    if (!f.metavar.empty()) left += " " + f.metavar;
    if (left.size() < 34) left.resize(34, ' ');
    else left += "\n" + std::string(34, ' ');
    out += left + f.help + "\n";
  }
  out += "    -h, --help                    show this help\n";
  return out;
}

}  // namespace slipway::cli

// Instructions that change only the image config (and ARG/ENV scope), plus
// WORKDIR, which also creates its directory as BuildKit does.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "builder/stage.h"
#include "common/error.h"
#include "dockerfile_parser/flags.h"
#include "layers/diff.h"

namespace slipway::build {

namespace {

std::string upper(const std::string& s) {
  std::string out = s;
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> command_of(const StageState& st, const dockerfile::Instruction& ins) {
  if (ins.json) return ins.args;
  std::vector<std::string> cmd = st.shell;
  cmd.push_back(ins.args.empty() ? "" : ins.args[0]);
  return cmd;
}

std::string json_list(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

void expose(StageState& st, const dockerfile::Instruction& ins) {
  for (const auto& raw : ins.args) {
    for (const auto& word : st.scope->expand_words(raw)) {
      std::string port = word, proto = "tcp";
      auto slash = word.find('/');
      if (slash != std::string::npos) {
        port = word.substr(0, slash);
        proto = word.substr(slash + 1);
        for (auto& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (proto != "tcp" && proto != "udp" && proto != "sctp") {
        throw Error(where(st, ins) + ": EXPOSE " + word + ": invalid protocol \"" + proto + "\"");
      }
      auto parse = [&](const std::string& s) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 65535) {
          throw Error(where(st, ins) + ": EXPOSE " + word + ": invalid port \"" + s + "\"");
        }
        return v;
      };
      auto dash = port.find('-');
      unsigned lo = parse(port.substr(0, dash));
      unsigned hi = dash == std::string::npos ? lo : parse(port.substr(dash + 1));
      if (hi < lo || hi - lo > 65535) throw Error(where(st, ins) + ": EXPOSE " + word + ": invalid port range");
      for (unsigned p = lo; p <= hi; ++p) st.config.config.exposed_ports.insert(std::to_string(p) + "/" + proto);
    }
  }
}

void healthcheck(StageState& st, const dockerfile::Instruction& ins) {
  HealthConfig h;
  if (!ins.args.empty() && upper(ins.args[0]) == "NONE") {
    h.test = {"NONE"};
  } else {
    std::vector<std::string> rest(ins.args.begin() + 1, ins.args.end());
    if (ins.json) {
      h.test = {"CMD"};
      h.test.insert(h.test.end(), rest.begin(), rest.end());
    } else {
      h.test = {"CMD-SHELL", rest.empty() ? "" : rest[0]};
    }
    auto dur = [&](const char* flag) -> int64_t {
      auto v = ins.flag(flag);
      return v ? dockerfile::parse_duration(*v) : 0;
    };
    h.interval = dur("interval");
    h.timeout = dur("timeout");
    h.start_period = dur("start-period");
    h.start_interval = dur("start-interval");
    if (auto r = ins.flag("retries")) h.retries = std::stoi(*r);
  }
  st.config.config.healthcheck = h;
}

// WORKDIR creates its directory when the image lacks it, owned by the
// current USER, as its own small layer (BuildKit's mkdir file op).
std::optional<LayerResult> make_workdir(StageState& st, BuildEnv& env, const std::string& dir) {
  auto fds = open_layer_dirs(st);
  std::vector<int> raw;
  for (const auto& f : fds) raw.push_back(f.get());
  std::string rel = dir.substr(1);
  if (rel.empty()) return std::nullopt;
  auto hit = lookup_in_layers(raw, rel);
  if (hit && S_ISDIR(hit->st.st_mode)) return std::nullopt;
  uint32_t uid = 0, gid = 0;
  if (!st.config.config.user.empty()) {
    auto u = resolve_user(st.config.config.user, stage_reader(st));
    uid = u.uid;
    gid = u.gid;
  }
  std::string layer = env.new_layer_dir();
  // Parents that exist keep their metadata: copy it into the layer dir so the
  // differ sees them unchanged; missing ones are created 0755.
  std::string cur;
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    cur += (cur.empty() ? "" : "/") + rel.substr(i, j - i);
    std::string path = layer + "/" + cur;
    auto h = lookup_in_layers(raw, cur);
    if (h && !S_ISDIR(h->st.st_mode)) throw Error("WORKDIR " + dir + ": /" + cur + " exists and is not a directory");
    if (mkdir(path.c_str(), 0755) != 0) throw sys_error("mkdir " + path);
    if (h) {
      copy_dir_metadata(path, *h);
    } else if (lchown(path.c_str(), uid, gid) != 0 && !env.single_id) {
      throw sys_error("chown " + path);
    }
    i = j + 1;
  }
  return commit_layer_dir(st, env, layer);
}

}  // namespace

bool config_step(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins) {
  auto& c = st.config.config;
  const std::string& cmd = ins.cmd;
  auto text = [&] { return ins.args.empty() ? std::string() : ins.args[0]; };
  std::string created_by;
  if (cmd == "arg") {
    for (const auto& word : ins.args) st.scope->declare_arg(word);
    return true;  // ARG leaves no history entry of its own (BuildKit)
  } else if (cmd == "env") {
    created_by = "ENV";
    // Every pair is expanded before any is set: in `ENV a=1 b=$a`, b sees
    // the old a (BuildKit).
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 0; i + 1 < ins.args.size(); i += 2) {
      pairs.emplace_back(st.scope->expand_word(ins.args[i]), st.scope->expand_word(ins.args[i + 1]));
    }
    for (const auto& [k, v] : pairs) {
      st.scope->set_env(k, v);
      created_by += " " + k + "=" + v;
    }
    c.env = dockerfile::to_env_strings(st.scope->env());
  } else if (cmd == "label") {
    created_by = "LABEL";
    for (size_t i = 0; i + 1 < ins.args.size(); i += 2) {
      std::string k = st.scope->expand_word(ins.args[i]);
      std::string v = st.scope->expand_word(ins.args[i + 1]);
      c.labels[k] = v;
      created_by += " " + k + "=" + v;
    }
  } else if (cmd == "maintainer") {
    st.config.author = text();
    created_by = "MAINTAINER " + text();
  } else if (cmd == "expose") {
    expose(st, ins);
    created_by = "EXPOSE";
    for (const auto& p : c.exposed_ports) created_by += " " + p;
  } else if (cmd == "volume") {
    created_by = "VOLUME";
    for (const auto& raw : ins.args) {
      for (const auto& v : ins.json ? std::vector<std::string>{st.scope->expand_word(raw)} : st.scope->expand_words(raw)) {
        if (v.empty()) throw Error(where(st, ins) + ": VOLUME specified can not be an empty string");
        c.volumes.insert(v);
        created_by += " " + v;
      }
    }
  } else if (cmd == "user") {
    c.user = st.scope->expand_word(text());
    created_by = "USER " + c.user;
  } else if (cmd == "workdir") {
    std::string dir = st.scope->expand_word(text());
    if (dir.empty()) throw Error(where(st, ins) + ": WORKDIR cannot be empty");
    std::string base = c.working_dir.empty() ? "/" : c.working_dir;
    c.working_dir = absolute_path(base, dir);
    record_step(st, env, "WORKDIR " + c.working_dir, make_workdir(st, env, c.working_dir));
    return true;
  } else if (cmd == "stopsignal") {
    c.stop_signal = st.scope->expand_word(text());
    created_by = "STOPSIGNAL " + c.stop_signal;
  } else if (cmd == "healthcheck") {
    healthcheck(st, ins);
    created_by = "HEALTHCHECK " + json_list(c.healthcheck->test);
  } else if (cmd == "shell") {
    st.shell = ins.args;
    c.shell = ins.args;
    created_by = "SHELL " + json_list(ins.args);
  } else if (cmd == "cmd") {
    c.cmd = command_of(st, ins);
    st.cmd_set = true;
    created_by = "CMD " + json_list(*c.cmd);
  } else if (cmd == "entrypoint") {
    c.entrypoint = command_of(st, ins);
    if (!st.cmd_set) c.cmd.reset();  // an inherited CMD does not survive a new ENTRYPOINT
    created_by = "ENTRYPOINT " + json_list(*c.entrypoint);
  } else if (cmd == "onbuild") {
    c.on_build.push_back(text());
    created_by = "ONBUILD " + text();
  } else {
    return false;
  }
  record_step(st, env, created_by, std::nullopt);
  return true;
}

}  // namespace slipway::build

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "builder/build.h"
#include "builder/cache_store.h"
#include "builder/commands.h"
#include "builder/flags.h"
#include "builder/interrupt.h"
#include "builder/isolation.h"
#include "builder/registry_flags.h"
#include "builder/userns.h"
#include "common/error.h"
#include "common/proc.h"
#include "dockerfile_parser/parser.h"

namespace slipway::cli {

namespace {

std::map<std::string, std::string> key_values(const std::vector<std::string>& items, const char* flag,
                                              bool bare_reads_env) {
  std::map<std::string, std::string> out;
  for (const auto& kv : items) {
    auto eq = kv.find('=');
    if (eq == 0) throw usage_error(std::string("--") + flag + " needs KEY=VALUE, not \"" + kv + "\"");
    if (eq == std::string::npos) {
      if (!bare_reads_env) throw usage_error(std::string("--") + flag + " needs KEY=VALUE, not \"" + kv + "\"");
      // A bare KEY takes its value from the environment, as docker build does.
      if (const char* v = getenv(kv.c_str())) out[kv] = v;
      continue;
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

build::SecretSpec parse_secret(const std::string& text) {
  build::SecretSpec s;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string part = text.substr(i, j - i);
    auto eq = part.find('=');
    std::string k = part.substr(0, eq), v = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (k == "id") s.id = v;
    else if (k == "src" || k == "source") s.src = v;
    else if (k == "env") s.env = v;
    else if (k == "type") {
      if (v != "file" && v != "env") throw usage_error("--secret type must be file or env, not \"" + v + "\"");
    } else {
      throw usage_error("--secret: unknown key \"" + k + "\" (want id=ID,src=PATH or id=ID,env=VAR)");
    }
    i = j + 1;
  }
  if (s.id.empty()) throw usage_error("--secret needs id=ID");
  if (s.src.empty() && s.env.empty()) s.env = s.id;  // docker build's default
  return s;
}

}  // namespace

int cmd_build(const Args& args) {
  build::BuildOptions o;
  o.platform = host_platform();
  FlagSet fs("slipway build", "[options] [CONTEXT]",
             "Build an image from a Dockerfile and a context directory, without a daemon and\n"
             "without privileges, then push it to every --destination and write the requested\n"
             "files. Flag names follow Kaniko's executor.");
  std::string context, platform, isolation = "auto", log_format = "text", sde, progress_mode = "auto";
  std::vector<std::string> build_args, labels, annotations, secrets, build_contexts;
  fs.add_string("context", 'c', "DIR", &context, "the build context directory (default .)");
  fs.add_string("dockerfile", 'f', "FILE", &o.dockerfile, "the Dockerfile (default CONTEXT/Dockerfile)");
  fs.add_list("destination", 'd', "REF", &o.destinations, "push the image to REF (repeatable)");
  fs.add_bool("no-push", 0, &o.no_push, "build without pushing");
  fs.add_string("tar-path", 0, "FILE", &o.tar_path, "also write a docker-archive tarball");
  fs.add_string("oci-layout-path", 0, "DIR", &o.oci_layout_path, "also write an OCI image layout");
  fs.add_string("digest-file", 0, "FILE", &o.digest_file, "write the image digest to FILE");
  fs.add_string("image-name-with-digest-file", 0, "FILE", &o.image_name_with_digest_file,
                "write each pushed name@digest to FILE");
  fs.add_list("build-arg", 0, "K[=V]", &build_args, "set a build arg; a bare K reads the environment");
  fs.add_list("label", 0, "K=V", &labels, "add an image label (repeatable)");
  fs.add_list("annotation", 0, "K=V", &annotations, "add a manifest annotation (repeatable)");
  fs.add_string("target", 0, "STAGE", &o.target, "build this stage (default: the last)");
  bool skip_unused = true;
  fs.add_bool("skip-unused-stages", 0, &skip_unused, "build only the stages the target needs (default)");
  fs.add_string("custom-platform", 0, "OS/ARCH[/VARIANT]", &platform, "the target platform (default: the host's)");
  fs.add_bool("reproducible", 0, &o.reproducible, "strip timestamps (honours SOURCE_DATE_EPOCH)");
  bool verify_reproducible = false;
  fs.add_bool("verify-reproducible", 0, &verify_reproducible,
              "build twice (with --reproducible) and fail, writing nothing, if the digests differ");
  fs.add_bool("single-snapshot", 0, &o.single_snapshot, "one layer per stage");
  fs.add_string("compression", 0, "gzip|zstd", &o.compression, "layer compression (default gzip)");
  fs.add_int("compression-level", 0, "N", &o.compression_level, "compression level");
  fs.add_string("image-format", 0, "oci|docker", &o.image_format, "manifest and config media types (default oci)");
  fs.add_bool("arch-suffix", 0, &o.arch_suffix, "append -<arch> (amd64, arm64, armv7) to every destination tag");
  fs.add_string("manifest", 0, "REF", &o.manifest, "also add the image to the index at REF");
  fs.add_list("secret", 0, "id=ID,src=PATH|env=VAR", &secrets, "expose a secret to RUN --mount=type=secret");
  fs.add_list("build-context", 0, "NAME=SOURCE", &build_contexts,
              "name an extra context, e.g. busybox=oci-layout:///path:tag");
  fs.add_string("isolation", 0, "auto|userns|chroot", &isolation,
                "how RUN steps are isolated (default auto; see docs/isolation.md)");
  fs.add_string("snapshot-mode", 0, "auto|overlay|copy", &o.snapshot_mode,
                "overlayfs upper dirs, or a copied tree and the walking differ (default auto)");
  fs.add_string("state-dir", 0, "DIR", &o.state_dir, "content store and caches (default ~/.local/share/slipway)");
  std::string cache_ttl;
  fs.add_bool("cache", 0, &o.cache, "reuse the layers of RUN, COPY, ADD and WORKDIR steps (docs/cache.md)");
  fs.add_string("cache-repo", 0, "REPO", &o.cache_repo, "registry repository of the layer cache (shared)");
  fs.add_string("cache-dir", 0, "DIR", &o.cache_dir, "local directory of the layer cache (checked first)");
  fs.add_string("cache-ttl", 0, "DURATION", &cache_ttl, "cache entries older than this are misses (default 336h)");
  fs.add_string("log-format", 0, "text|json", &log_format, "progress as text lines or JSON events");
  fs.add_string("progress", 0, "auto|plain|tty", &progress_mode,
                "text progress: redraw the running step in place (tty), plain lines, or tty on a terminal (auto)");
  fs.add_string("verbosity", 'v', "LEVEL", &o.verbosity, "info or debug");
  add_registry_flags(fs, o);
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (pos.size() > 1) throw usage_error("build takes at most one CONTEXT");
  if (!pos.empty()) {
    if (!context.empty()) throw usage_error("give the context either as --context or as an argument, not both");
    context = pos[0];
  }
  o.context = context.empty() ? "." : context;
  if (o.context.rfind("dir://", 0) == 0) o.context = o.context.substr(6);
  o.build_args = key_values(build_args, "build-arg", true);
  o.labels = key_values(labels, "label", false);
  o.annotations = key_values(annotations, "annotation", false);
  o.build_contexts = key_values(build_contexts, "build-context", false);
  for (const auto& s : secrets) o.secrets.push_back(parse_secret(s));
  if (!platform.empty()) o.platform = parse_platform(platform);
  if (o.snapshot_mode != "auto" && o.snapshot_mode != "overlay" && o.snapshot_mode != "copy") {
    throw usage_error("--snapshot-mode must be auto, overlay or copy");
  }
  if (o.compression != "gzip" && o.compression != "zstd") throw usage_error("--compression must be gzip or zstd");
  if (!cache_ttl.empty()) {
    try {
      o.cache_ttl_seconds = build::parse_duration_seconds(cache_ttl);
    } catch (const Error& e) {
      throw usage_error("--cache-ttl: " + e.message());
    }
  }
  if (o.image_format != "oci" && o.image_format != "docker") throw usage_error("--image-format must be oci or docker");
  if (log_format == "json") o.log_format = build::LogFormat::kJson;
  else if (log_format != "text") throw usage_error("--log-format must be text or json");
  if (isolation == "userns") o.isolation = build::Isolation::kUserns;
  else if (isolation == "chroot") o.isolation = build::Isolation::kChroot;
  else if (isolation != "auto") throw usage_error("--isolation must be auto, userns or chroot");
  if (o.destinations.empty() && !o.no_push && o.oci_layout_path.empty() && o.tar_path.empty()) {
    throw usage_error("nothing to do: give --destination, --oci-layout-path, --tar-path or --no-push");
  }
  if (verify_reproducible) o.reproducible = true;
  if (const char* s = getenv("SOURCE_DATE_EPOCH"); s && *s && o.reproducible) {
    try {
      o.source_date_epoch = std::stoll(s);
    } catch (const std::exception&) {
      throw usage_error("SOURCE_DATE_EPOCH must be a number of seconds, not \"" + std::string(s) + "\"");
    }
  }

  require_proc();
  using sandbox::NamespaceState;
  auto state = sandbox::namespace_state();
  constexpr const char* kWhyEnv = "_SLIPWAY_ISOLATION_WHY";
  std::string isolation_log;
  if (state == NamespaceState::kInUserns) {
    const char* why = getenv(kWhyEnv);
    isolation_log = "isolation: userns (" + std::string(why ? why : "re-executed in a user namespace") + ")";
  } else {
    auto choice = sandbox::choose_isolation(o.isolation, sandbox::probe_isolation());
    if (choice.mode == sandbox::Mode::kUserns) {
      // Re-exec this very command inside a user namespace where we are root.
      setenv(kWhyEnv, choice.why.c_str(), 1);
      std::vector<std::string> argv = {"slipway", "build"};
      argv.insert(argv.end(), args.begin(), args.end());
      return sandbox::reexec_in_userns(argv, sandbox::plan_id_mapping());
    }
    if (choice.mode == sandbox::Mode::kChroot) {
      if (o.snapshot_mode == "overlay") {
        throw usage_error("--snapshot-mode overlay needs mounts, which --isolation chroot runs without");
      }
      o.isolation = build::Isolation::kChroot;
    }
    isolation_log = "isolation: " + sandbox::mode_name(choice.mode) + " (" + choice.why + ")";
  }
  build::install_interrupt_handler();
  if (progress_mode != "auto" && progress_mode != "plain" && progress_mode != "tty") {
    throw usage_error("--progress must be auto, plain or tty");
  }
  build::Progress progress(o.log_format, std::cerr, o.verbosity == "debug", build::use_tty(progress_mode));
  progress.info(isolation_log);
  bool userns = state == NamespaceState::kInUserns;
  bool single_id = userns && sandbox::current_mapping().single_id();
  if (single_id) {
    progress.info("rootless with one mapped id: chown in RUN is emulated (add a /etc/subuid range for real ids)");
  }
  if (verify_reproducible) {
    // The first build writes nothing; the second writes every output only
    // when it matches the first (checked in write_outputs).
    build::BuildOptions first = o;
    first.destinations.clear();
    first.no_push = true;
    first.tar_path.clear();
    first.oci_layout_path.clear();
    first.digest_file.clear();
    first.image_name_with_digest_file.clear();
    first.manifest.clear();
    // The first build runs every step, so the second (which may hit the
    // cache) is checked against a real build, not against the cache.
    first.cache = false;
    progress.info("--verify-reproducible: first of two builds");
    o.expect_digest = build::run_build(first, progress, userns, single_id).manifest_digest;
    progress.info("--verify-reproducible: second build, expecting " + o.expect_digest->str());
  }
  auto result = build::run_build(o, progress, userns, single_id);
  if (verify_reproducible) progress.info("--verify-reproducible: both builds gave " + result.manifest_digest.str());
  std::cout << result.manifest_digest.str() << "\n";
  return 0;
}

}  // namespace slipway::cli

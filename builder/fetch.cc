#include "builder/fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include "common/error.h"
#include "common/fd.h"

namespace slipway::build {

namespace {

struct Sink {
  int fd;
  Sha256 sha;
  bool failed = false;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t len = size * n;
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(s->fd, data + done, len - done);
    if (w <= 0) {
      s->failed = true;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  s->sha.update(data, len);
  return len;
}

std::string filename_of(const std::string& url) {
  std::string path = url.substr(url.find("://") + 3);
  auto slash = path.find('/');
  path = slash == std::string::npos ? "" : path.substr(slash);
  path = path.substr(0, path.find_first_of("?#"));
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string name = path.substr(path.rfind('/') + 1);
  // A name that would escape the destination is not a name.
  if (name.empty() || name == "." || name == "..") return "index.html";
  return name;
}

}  // namespace

bool is_url(const std::string& source) {
  return source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0;
}

Fetched fetch_url(const std::string& url, const std::string& dir, const std::optional<std::string>& checksum) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) throw Error("cannot initialise libcurl");
  Fetched f;
  f.filename = filename_of(url);
  std::string tmpl = dir + "/fetch-XXXXXX";
  UniqueFd fd(mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd) throw sys_error("create a download file in " + dir);
  f.path = tmpl;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("cannot create a libcurl handle");
  Sink sink{fd.get(), Sha256(), false};
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl.get(), CURLOPT_FILETIME, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "slipway");
  CURLcode rc = curl_easy_perform(curl.get());
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || sink.failed) {
    unlink(f.path.c_str());
    throw Error("ADD " + url + ": " + (sink.failed ? std::string("writing the download failed") : std::string(errbuf[0] ? errbuf : curl_easy_strerror(rc))));
  }
  if (status >= 400) {
    unlink(f.path.c_str());
    throw Error("ADD " + url + ": HTTP " + std::to_string(status));
  }
  curl_off_t filetime = -1;
  if (curl_easy_getinfo(curl.get(), CURLINFO_FILETIME_T, &filetime) == CURLE_OK && filetime >= 0) f.mtime = filetime;
  f.digest = sink.sha.finish();
  if (checksum && *checksum != f.digest.str()) {
    unlink(f.path.c_str());
    throw Error("ADD " + url + ": checksum mismatch: expected " + *checksum + ", got " + f.digest.str());
  }
  return f;
}

}  // namespace slipway::build

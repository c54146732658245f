#pragma once
// A content-addressed blob store laid out like an OCI image layout:
// <root>/blobs/<algorithm>/<hex>. Like containerd's content.Store, bytes are
// streamed into a temp file inside the store and only renamed into place once
// their digest (and size) checks out, so a blob path always holds the right
// bytes. Several processes may use one store at once: temp names are unique,
// rename(2) is atomic, and two commits of the same digest both succeed.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/fd.h"
#include "layers/byte_sink.h"

namespace slipway {

class ContentStore {
 public:
  // Creates <root>/blobs/sha256 if missing.
  explicit ContentStore(std::string root);

  const std::string& root() const { return root_; }
  std::string blob_path(const Digest& d) const;

  bool exists(const Digest& d) const;
  // Size of a committed blob, or nullopt when absent.
  std::optional<uint64_t> size(const Digest& d) const;
  // Removes a blob; absent is not an error.
  void remove(const Digest& d) const;
  // Every committed sha256 blob, sorted.
  std::vector<Digest> list() const;
  // Removes temp files left by writers that died (a crash, SIGKILL): a live
  // writer holds an flock on its temp file, so an unlocked one older than
  // `min_age_seconds` belongs to nobody. Returns how many were removed.
  size_t remove_abandoned(int64_t min_age_seconds = 60) const;

  // Streams one blob into the store. Destroying it without commit() discards
  // the temp file.
  class Writer : public ByteSink {
   public:
    Writer(Writer&&) noexcept;
    Writer& operator=(Writer&&) = delete;
    ~Writer() override;
    void write(const void* data, size_t size) override;
    uint64_t written() const { return written_; }
    // For bytes whose digest the caller checks in the same pass and that it
    // fails before commit() on a mismatch (RegistryClient::get_blob does):
    // hashing them twice cost a pull half its CPU. commit() then needs
    // `expected` and takes it on the caller's word. Only before any write.
    void skip_hashing();
    // Verifies the digest (and size if given), fsyncs and renames into place.
    // Returns the digest of what was written.
    Digest commit(const std::optional<Digest>& expected = std::nullopt,
                  std::optional<uint64_t> expected_size = std::nullopt);
    // After commit(): whether the store already held this blob, so a caller
    // cleaning up what it added leaves other writers' blobs alone.
    bool already_existed() const { return existed_; }

   private:
    friend class ContentStore;
    Writer(const ContentStore* store, UniqueFd fd, std::string temp_path);
    const ContentStore* store_;
    UniqueFd fd_;
    std::string temp_path_;
    std::unique_ptr<Sha256> sha_;  // Sha256 is not movable
    uint64_t written_ = 0;
    uint64_t flushed_ = 0;  // bytes handed to sync_file_range
    bool done_ = false;
    bool existed_ = false;
  };
  Writer writer() const;

  // Stores a small blob held in memory.
  Digest put(std::string_view data, const std::optional<Digest>& expected = std::nullopt) const;

  // Reads a blob in chunks. With verify, reaching the end checks the digest
  // and throws Error when the bytes on disk do not match their name.
  class Reader {
   public:
    // Returns 0 at the end.
    size_t read(void* buf, size_t size);
    uint64_t size() const { return size_; }

   private:
    friend class ContentStore;
    Reader(Digest d, UniqueFd fd, uint64_t size, bool verify);
    Digest digest_;
    UniqueFd fd_;
    uint64_t size_;
    uint64_t read_ = 0;
    std::unique_ptr<Sha256> sha_;  // null when not verifying
  };
  Reader open(const Digest& d, bool verify = true) const;
  // Whole blob in memory (for JSON), verified.
  std::string read_all(const Digest& d) const;
  // Streams a blob into a sink, verified.
  void copy_to(const Digest& d, ByteSink& out) const;

 private:
  std::string root_;
};

}  // namespace slipway

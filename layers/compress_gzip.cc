// Parallel gzip in the manner of pigz (see compress.h) and a streaming
// gunzip that accepts concatenated members.
#include <zlib.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"
#include "layers/compress.h"

namespace slipway {
namespace {

constexpr size_t kDictSize = 32 * 1024;

struct Job {
  std::vector<unsigned char> in;
  size_t in_len = 0;
  std::vector<unsigned char> dict;  // the previous block's last 32 KiB
  bool last = false;
  std::vector<unsigned char> out;
  uLong crc = 0;
  bool done = false;
  std::string error;
};

// One deflate stream per thread, reset for every block: deflateReset yields
// the same state as a fresh deflateInit2, so reuse cannot change the output.
class Deflater {
 public:
  explicit Deflater(int level) {
    // Raw deflate (-15): the gzip header and trailer are ours.
    if (deflateInit2(&z_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw Error("gzip: cannot initialise zlib at level " + std::to_string(level));
    }
  }
  ~Deflater() { deflateEnd(&z_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  void run(Job& job) {
    job.crc = crc32(0, job.in.data(), uInt(job.in_len));
    if (deflateReset(&z_) != Z_OK) throw Error("gzip: deflateReset failed");
    if (!job.dict.empty() && deflateSetDictionary(&z_, job.dict.data(), uInt(job.dict.size())) != Z_OK) {
      throw Error("gzip: deflateSetDictionary failed");
    }
    // deflateBound covers Z_FINISH; the sync flush marker needs a few bytes more.
    job.out.resize(deflateBound(&z_, uLong(job.in_len)) + 64);
    z_.next_in = job.in.data();
    z_.avail_in = uInt(job.in_len);
    size_t produced = 0;
    int flush = job.last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      if (produced == job.out.size()) job.out.resize(job.out.size() * 2);
      z_.next_out = job.out.data() + produced;
      z_.avail_out = uInt(job.out.size() - produced);
      int rc = deflate(&z_, flush);
      produced = job.out.size() - z_.avail_out;
      if (rc == Z_STREAM_ERROR) throw Error("gzip: deflate failed");
      if (job.last ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out > 0)) break;
    }
    job.out.resize(produced);
  }

 private:
  z_stream z_{};
};

// Three roles: the caller's thread cuts blocks and hands them out, worker
// threads deflate them, and a writer thread emits them in order (and combines
// the CRCs). The caller only waits when every buffer of the window is in use,
// so a slow handoff on a busy machine does not stall the whole pipeline.
class GzipCompressor : public Compressor {
 public:
  GzipCompressor(const CompressOptions& o, ByteSink& out)
      : out_(out),
        level_(o.level < 0 ? 6 : o.level),
        block_size_(o.block_size < kDictSize ? kDictSize : o.block_size),
        threads_(effective_threads(o.threads)),
        // Four blocks per worker absorb scheduling delays; memory stays at
        // window * ~2 * block_size (about 2.5 MiB for 2 threads).
        window_(4 * size_t(threads_) + 2) {
    if (level_ > 9) throw Error("gzip: level " + std::to_string(level_) + " is out of range 0-9");
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};  // mtime 0, OS unknown
    out_.write(header, sizeof header);
    if (threads_ <= 1) {
      inline_deflater_ = std::make_unique<Deflater>(level_);
    } else {
      for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
      writer_ = std::thread([this] { write_out(); });
    }
    current_ = new_job();
  }

  ~GzipCompressor() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    done_cv_.notify_all();
    for (auto& t : workers_) t.join();
    if (writer_.joinable()) writer_.join();
  }

  void write(const void* data, size_t size) override {
    auto p = static_cast<const unsigned char*>(data);
    while (size > 0) {
      size_t n = std::min(size, block_size_ - current_->in_len);
      std::memcpy(current_->in.data() + current_->in_len, p, n);
      current_->in_len += n;
      p += n;
      size -= n;
      if (current_->in_len == block_size_) dispatch(false);
    }
  }

  void finish() override {
    if (finished_) throw Error("gzip: finish called twice");
    finished_ = true;
    dispatch(true);
    {
      std::unique_lock lock(mu_);
      free_cv_.wait(lock, [&] { return written_ == dispatched_ || error_; });
      if (error_) std::rethrow_exception(error_);
    }
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
    for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));  // ISIZE: mod 2^32
    out_.write(trailer, sizeof trailer);
  }

 private:
  std::shared_ptr<Job> new_job() {
    std::shared_ptr<Job> j;
    {
      std::unique_lock lock(mu_);
      free_cv_.wait(lock, [&] { return !free_.empty() || allocated_ < window_ || error_; });
      if (error_) std::rethrow_exception(error_);
      if (!free_.empty()) {
        j = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!j) {
      j = std::make_shared<Job>();
      j->in.resize(block_size_);
      ++allocated_;
    }
    j->in_len = 0;
    j->last = false;
    j->done = false;
    j->error.clear();
    j->dict.clear();
    return j;
  }

  void dispatch(bool last) {
    std::shared_ptr<Job> job = std::move(current_);
    job->last = last;
    job->dict = std::move(next_dict_);
    if (!last) {
      next_dict_.assign(job->in.begin() + std::ptrdiff_t(job->in_len - kDictSize),
                        job->in.begin() + std::ptrdiff_t(job->in_len));
    }
    if (inline_deflater_) {
      inline_deflater_->run(*job);
      emit(*job);
      free_.push_back(std::move(job));
      ++dispatched_;
      ++written_;
    } else {
      {
        std::lock_guard lock(mu_);
        if (error_) std::rethrow_exception(error_);
        inflight_.push_back(job);
        queue_.push_back(job);
        ++dispatched_;
      }
      work_cv_.notify_one();
    }
    if (!last) current_ = new_job();
  }

  void emit(const Job& job) {
    if (!job.error.empty()) throw Error(job.error);
    out_.write(job.out.data(), job.out.size());
    crc_ = crc32_combine(crc_, job.crc, z_off_t(job.in_len));
    total_ += job.in_len;
  }

  // The writer thread: emits blocks in stream order as they complete.
  void write_out() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        done_cv_.wait(lock, [&] { return stop_ || (!inflight_.empty() && inflight_.front()->done); });
        if (stop_) return;
        job = std::move(inflight_.front());
        inflight_.pop_front();
      }
      std::exception_ptr err;
      try {
        emit(*job);
      } catch (...) {
        err = std::current_exception();
      }
      {
        std::lock_guard lock(mu_);
        if (err && !error_) error_ = err;
        ++written_;
        free_.push_back(std::move(job));
      }
      free_cv_.notify_all();
    }
  }

  void work() {
    std::unique_ptr<Deflater> d;
    std::string init_error;
    try {
      d = std::make_unique<Deflater>(level_);
    } catch (const Error& e) {
      init_error = e.message();
    }
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      std::string err = init_error;
      if (err.empty()) {
        try {
          d->run(*job);
        } catch (const Error& e) {
          err = e.message();
        }
      }
      {
        std::lock_guard lock(mu_);
        job->error = err;
        job->done = true;
      }
      done_cv_.notify_all();
    }
  }

  ByteSink& out_;
  const int level_;
  const size_t block_size_;
  const unsigned threads_;
  const size_t window_;
  std::unique_ptr<Deflater> inline_deflater_;
  std::shared_ptr<Job> current_;       // being filled by the caller
  std::vector<unsigned char> next_dict_;
  bool finished_ = false;
  size_t allocated_ = 0;
  // Written by the writer thread (or inline), read by finish() once it is idle.
  uLong crc_ = crc32(0, nullptr, 0);
  uint64_t total_ = 0;

  std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_, done_cv_, free_cv_;
  std::deque<std::shared_ptr<Job>> queue_;     // waiting for a worker
  std::deque<std::shared_ptr<Job>> inflight_;  // dispatched, not yet written, in stream order
  std::vector<std::shared_ptr<Job>> free_;
  uint64_t dispatched_ = 0;
  uint64_t written_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::thread writer_;
};

class GzipDecompressor : public Decompressor {
 public:
  explicit GzipDecompressor(ByteSink& out) : out_(out), buf_(128 * 1024) {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw Error("gzip: cannot initialise zlib");
  }
  ~GzipDecompressor() override { inflateEnd(&z_); }

  void write(const void* data, size_t size) override {
    z_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    z_.avail_in = uInt(size);
    while (z_.avail_in > 0) {
      if (ended_) {
        // Another gzip member follows (gzip -d accepts concatenations too).
        if (inflateReset(&z_) != Z_OK) throw Error("gzip: inflateReset failed");
        ended_ = false;
      }
      z_.next_out = buf_.data();
      z_.avail_out = uInt(buf_.size());
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        throw Error(std::string("gzip: corrupt stream: ") + (z_.msg ? z_.msg : "inflate failed"));
      }
      size_t n = buf_.size() - z_.avail_out;
      if (n) out_.write(buf_.data(), n);
      if (rc == Z_STREAM_END) ended_ = true;
      if (rc == Z_BUF_ERROR && n == 0) break;
    }
    seen_ = true;
  }

  void finish() override {
    if (!seen_ || !ended_) throw Error("gzip: unexpected end of stream");
  }

 private:
  ByteSink& out_;
  z_stream z_{};
  std::vector<unsigned char> buf_;
  bool ended_ = false;
  bool seen_ = false;
};

}  // namespace

std::unique_ptr<Compressor> make_gzip_compressor(const CompressOptions& options, ByteSink& out) {
  return std::make_unique<GzipCompressor>(options, out);
}

std::unique_ptr<Decompressor> make_gzip_decompressor(ByteSink& out) {
  return std::make_unique<GzipDecompressor>(out);
}

}  // namespace slipway

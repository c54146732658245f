#include "builder/parallel.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using slipway::build::parallel_for;

TEST_CASE("parallel_for runs every item once, at most `workers` at a time") {
  std::vector<std::atomic<int>> hits(20);
  std::atomic<int> running{0}, peak{0};
  parallel_for(hits.size(), 4, [&](size_t i) {
    int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ++hits[i];
    --running;
  });
  for (auto& h : hits) CHECK(h == 1);
  CHECK(peak <= 4);
  CHECK(peak >= 2);
}

TEST_CASE("parallel_for rethrows the first failure and starts no new items after it") {
  std::atomic<int> started{0};
  CHECK_THROWS_WITH(parallel_for(100, 1,
                                 [&](size_t i) {
                                   ++started;
                                   if (i == 3) throw std::runtime_error("item 3");
                                 }),
                    "item 3");
  CHECK(started == 4);
}

TEST_CASE("parallel_for with no items returns at once") {
  parallel_for(0, 4, [](size_t) { FAIL("called"); });
}

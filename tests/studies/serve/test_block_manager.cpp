// vLLM's block manager (block tables, reference counts, copy-on-write, swap), the contiguous
// allocator's fragmentation, and the paged scheduler's sharing, preemption and swap bound.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "sim/studies/serve/block_manager.h"
#include "sim/studies/serve/kv_cache.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/scheduler.h"
#include "tests/studies/serve/serve_checks.h"
#include "tests/studies/serve/shared_cost.h"

using namespace tpusim;
using namespace tpusim::serve;

namespace {

using Append = BlockManager::Append;

ScheduleResult run_paged(const std::vector<Request>& t, SchedulerOptions o = {}) {
  o.scheduler = "paged";
  return simulate(t, shared_cost(), o);
}

std::vector<Request> widened(std::vector<Request> t, uint32_t width, bool beam) {
  for (Request& r : t) {
    r.width = width;
    r.beam = beam;
  }
  return t;
}

}  // namespace

TEST_CASE("block tables stay consistent over 10^5 random operations", "[blocks]") {
  // Small pools so that allocation failures, copy-on-write, full swap space and prefix sharing
  // all happen often. Rng is the traces' hand-written generator (the same on every library).
  BlockManager bm(64, 24, 4);
  Rng rng(2026);
  std::vector<BlockManager::SeqId> live;
  BlockManager::SeqId next = 0;
  std::map<std::string, uint64_t> done;
  for (int op = 0; op < 100000; ++op) {
    const uint64_t kind = rng.uniform_int(0, 9);
    if (kind <= 1 || live.empty()) {  // allocate, maybe sharing another's prefix
      const uint64_t tokens = rng.uniform_int(1, 24);
      BlockManager::SeqId src = 0;
      bool share = false;
      if (!live.empty() && rng.uniform01() < 0.5) {
        src = live[rng.uniform_int(0, live.size() - 1)];
        share = bm.on_gpu(src);
      }
      const uint64_t shared = share ? rng.uniform_int(0, std::min(tokens, bm.tokens(src))) : 0;
      const uint64_t free_before = bm.free_gpu_blocks();
      const bool ok = bm.allocate(next, tokens, share ? &src : nullptr, shared);
      const uint64_t fresh = bm.blocks_for(tokens) - shared / bm.block_size();
      CHECK(ok == (fresh <= free_before));
      CHECK(bm.free_gpu_blocks() == (ok ? free_before - fresh : free_before));
      if (ok) live.push_back(next), ++done["allocate"];
      ++next;
    } else {
      const size_t i = size_t(rng.uniform_int(0, live.size() - 1));
      const BlockManager::SeqId s = live[i];
      if (kind <= 4) {  // append
        if (!bm.on_gpu(s)) continue;
        const uint64_t before = bm.tokens(s), free_before = bm.free_gpu_blocks();
        const Append a = bm.append_slot(s);
        CHECK(bm.tokens(s) == before + (a != Append::kNoMemory));
        CHECK(bm.free_gpu_blocks() ==
              free_before - (a == Append::kNewBlock || a == Append::kCopyOnWrite));
        ++done[a == Append::kCopyOnWrite ? "cow" : a == Append::kNoMemory ? "full" : "append"];
      } else if (kind == 5) {  // fork
        if (!bm.on_gpu(s)) continue;
        const uint64_t free_before = bm.free_gpu_blocks();
        bm.fork(s, next);
        CHECK(bm.free_gpu_blocks() == free_before);
        CHECK(bm.table(next) == bm.table(s));
        live.push_back(next++);
        ++done["fork"];
      } else if (kind == 6) {  // swap one sequence out or in
        const uint64_t gpu = bm.free_gpu_blocks(), cpu = bm.free_cpu_blocks();
        const bool out = bm.on_gpu(s);
        const int64_t moved = out ? bm.swap_out({s}) : bm.swap_in({s});
        if (moved < 0) {
          CHECK(bm.free_gpu_blocks() == gpu);  // refused: nothing changed
          CHECK(bm.free_cpu_blocks() == cpu);
          ++done["swap refused"];
        } else {
          CHECK(bm.on_gpu(s) != out);
          ++done["swap"];
        }
        CHECK(bm.used_cpu_blocks() <= bm.cpu_blocks());
      } else {  // free
        bm.free(s);
        live.erase(live.begin() + long(i));
        ++done["free"];
      }
    }
    if (op % 97 == 0) REQUIRE_NOTHROW(bm.check());
  }
  REQUIRE_NOTHROW(bm.check());
  for (const char* k :
       {"allocate", "append", "cow", "full", "fork", "swap", "swap refused", "free"})
    CHECK(done[k] > 50);  // every path exercised
  for (const auto& [k, v] : done) UNSCOPED_INFO(k << " " << v);
  for (BlockManager::SeqId s : live) bm.free(s);
  REQUIRE_NOTHROW(bm.check());
  CHECK(bm.free_gpu_blocks() == 64);  // nothing leaked
  CHECK(bm.free_cpu_blocks() == 24);
  CHECK(bm.used_gpu_slots() == 0);
}

TEST_CASE("a double free and a free-list corruption are caught", "[blocks]") {
  BlockManager bm(4, 0, 2);
  REQUIRE(bm.allocate(1, 3));
  bm.free(1);
  CHECK_THROWS_AS(bm.free(1), std::logic_error);
  CHECK_FALSE(bm.allocate(2, 9));  // 5 blocks of 2 > 4
  CHECK(bm.free_gpu_blocks() == 4);
}

TEST_CASE("copy-on-write on a beam-search step saves the blocks counted by hand", "[blocks]") {
  // Block size 4, a 6-token prompt, beam width 3.
  BlockManager bm(32, 0, 4);
  REQUIRE(bm.allocate(0, 6));  // [4][2]
  bm.fork(0, 1);
  bm.fork(0, 2);
  CHECK(bm.used_gpu_blocks() == 2);
  CHECK(bm.logical_gpu_blocks() == 6);
  // Each beam's first token: the shared half-full block is copied for beams 0 and 1; beam 2,
  // then its only holder, writes in place.
  CHECK(bm.append_slot(0) == Append::kCopyOnWrite);
  CHECK(bm.append_slot(1) == Append::kCopyOnWrite);
  CHECK(bm.append_slot(2) == Append::kInPlace);
  CHECK(bm.used_gpu_blocks() == 4);  // the prompt's full block shared + 3 own last blocks
  CHECK(bm.ref_count(bm.table(0)[0]) == 3);
  for (int k = 0; k < 2; ++k)  // tokens 8 and 9: one fresh block each at token 9
    for (BlockManager::SeqId s : {0, 1, 2}) bm.append_slot(s);
  CHECK(bm.tokens(0) == 9);
  CHECK(bm.used_gpu_blocks() == 1 + 3 * 2);
  CHECK(bm.logical_gpu_blocks() == 9);  // unshared: 3 beams x 3 blocks
  // Beam search drops beam 2 and forks beam 0 in its place: beam 2's two own blocks go back.
  bm.free(2);
  bm.fork(0, 2);
  CHECK(bm.used_gpu_blocks() == 5);
  CHECK(bm.logical_gpu_blocks() == 9);
  CHECK(bm.copy_on_writes() == 2);
  // The next token: beam 0's and beam 2's shared last block (1 of 4 slots) is copied once.
  CHECK(bm.append_slot(2) == Append::kCopyOnWrite);
  CHECK(bm.append_slot(0) == Append::kInPlace);
  CHECK(bm.used_gpu_blocks() == 6);
  REQUIRE_NOTHROW(bm.check());
}

TEST_CASE("swap moves a group's shared blocks once and refuses past the host bound", "[blocks]") {
  BlockManager bm(16, 3, 4);
  REQUIRE(bm.allocate(0, 8));  // [4][4]
  bm.fork(0, 1);
  bm.append_slot(1);  // own third block
  CHECK(bm.distinct_blocks({0, 1}) == 3);
  CHECK(bm.swap_out({0, 1}) == 3);  // shared blocks cross once
  CHECK(bm.free_cpu_blocks() == 0);
  CHECK(bm.free_gpu_blocks() == 16);
  CHECK(bm.ref_count(bm.table(0)[0]) == 2);  // sharing kept on the host
  REQUIRE(bm.allocate(2, 4));
  CHECK(bm.swap_out({2}) == -1);  // host full: refused, nothing moved
  CHECK(bm.on_gpu(2));
  CHECK(bm.swap_in({0, 1}, 14) == -1);  // 3 blocks + 14 reserved > 15 free
  CHECK(bm.swap_in({0, 1}, 2) == 3);
  CHECK(bm.table(0)[0] == bm.table(1)[0]);
  REQUIRE_NOTHROW(bm.check());
}

TEST_CASE("swap cost per byte grows as blocks shrink", "[blocks]") {
  // 2 x layers DMAs per block, each paying the link latency: 16-token blocks move the same
  // bytes as 1-token blocks in 1/16 of the transfers.
  const uint64_t tok = 819200;  // opt-13b fp16 K/V bytes per token
  const double small = swap_seconds(160, tok, 40, 1e-6, 31.5e9);
  const double big = swap_seconds(10, 16 * tok, 40, 1e-6, 31.5e9);
  CHECK(small - big == Approx((160 - 10) * 80 * 1e-6));
  CHECK(big == Approx(10 * 80 * 1e-6 + 160 * tok / 31.5e9));
}

TEST_CASE("contiguous regions fragment: first fit leaves holes too small", "[blocks]") {
  KvCache kv(100, "oracle", 2048, 4);
  REQUIRE(kv.grow(0, 20, 10, 21));  // [0, 30)
  REQUIRE(kv.grow(1, 20, 10, 21));  // [30, 60)
  REQUIRE(kv.grow(2, 20, 10, 21));  // [60, 90)
  CHECK(kv.reserved_tokens() == 3 * 9);
  kv.release(0);
  kv.release(2);  // holes [0, 30) and [60, 100)
  CHECK(kv.free_tokens() == 70);
  CHECK(kv.largest_hole() == 40);
  CHECK_FALSE(kv.grow(3, 40, 10, 41));  // 50 slots: 70 free, no hole of 50
  CHECK(kv.free_in_holes_below(50) == 70);
  kv.release(1);  // holes merge
  CHECK(kv.largest_hole() == 100);
  CHECK(kv.grow(3, 40, 10, 41));
  KvCache mx(4096, "max", 2048, 1);
  REQUIRE(mx.grow(0, 100, 50, 101));
  CHECK(mx.internal_tokens() == 2048 - 150);
  CHECK(mx.reserved_tokens() == 150 - 101);
}

TEST_CASE("paged serving shares beams and samples and conserves tokens under preemption",
          "[blocks][sched]") {
  const auto base = serve_trace("alpaca", 120, 40.0, 5);
  for (const bool beam : {false, true}) {
    for (const char* mode : {"recompute", "swap", "auto"}) {
      INFO((beam ? "beam " : "samples ") << mode);
      const auto t = widened(base, 4, beam);
      SchedulerOptions o;
      o.preemption = mode;
      o.kv_capacity_tokens = 1500;  // tight: preemptions happen
      const auto r = run_paged(t, o);
      check_conserved(t, r);
      CHECK(r.preemptions > 0);
      CHECK(r.kv_sharing_saving > 0.0);
      CHECK(r.copy_on_writes > 0);
      CHECK((r.swap_blocks > 0) == (std::string(mode) != "recompute"));
      CHECK(r.kv_used + r.kv_reserved + r.kv_internal + r.kv_external + r.kv_free == Approx(1.0));
    }
  }
  // Beam search re-forks: it shares more than parallel sampling (vLLM Fig. 15: 37.6-55.2 % vs
  // 6.1-9.8 % on Alpaca).
  const auto s = run_paged(widened(base, 4, false));
  const auto b = run_paged(widened(base, 4, true));
  CHECK(b.kv_sharing_saving > s.kv_sharing_saving);
}

TEST_CASE("the swap space bound holds; a full host falls back to recompute", "[blocks][sched]") {
  const auto t = widened(serve_trace("sharegpt", 60, 50.0, 5), 2, false);
  SchedulerOptions o;
  o.preemption = "swap";
  o.kv_capacity_tokens = 8000;
  const uint64_t block_bytes = 16 * shared_cost().model().kv_bytes_per_token();
  o.swap_space_bytes = 40 * block_bytes;  // 40 host blocks
  const auto r = run_paged(t, o);
  check_conserved(t, r);
  CHECK(r.swap_capacity_blocks == 40);
  CHECK(r.swap_peak_blocks > 0);
  CHECK(r.swap_peak_blocks <= 40);
  CHECK(r.swap_fallbacks > 0);
  o.swap_space_bytes = 0;
  const auto z = run_paged(t, o);
  check_conserved(t, z);
  CHECK(z.swap_blocks == 0);
  CHECK(z.swap_fallbacks == z.preemptions);
}

TEST_CASE("PagedAttention's gather overhead slows paged decode only", "[blocks][sched]") {
  const std::vector<Request> one{{0, 0.0, 300, 40, -1}};
  SchedulerOptions o;
  const auto a = run_paged(one, o);
  o.paged_attention_overhead = 0.25;
  const auto b = run_paged(one, o);
  CHECK(b.requests[0].finish_s > a.requests[0].finish_s);
  CHECK(b.requests[0].first_token_s == a.requests[0].first_token_s);  // prefill unchanged
  o.scheduler = "continuous";
  const auto c = simulate(one, shared_cost(), o);
  CHECK(c.requests[0].finish_s == Approx(a.requests[0].finish_s));
}

TEST_CASE("a shared prefix is computed once and its blocks shared", "[blocks][sched]") {
  // One request alone: the paged scheduler prefills only the part after the prefix's full
  // blocks (64 of 70 prefix tokens with 16-token blocks).
  CostModel& c = shared_cost();
  Request q{0, 1.0, 300, 4, -1};
  q.prefix_len = 70;
  const auto p = run_paged({q});
  CHECK(p.requests[0].first_token_s == Approx(1.0 + c.seconds(c.iteration({300 - 64}, {}, 0))));
  SchedulerOptions o;
  o.scheduler = "continuous";
  const auto k = simulate({q}, c, o);  // Orca: the whole prompt
  CHECK(k.requests[0].first_token_s == Approx(1.0 + c.seconds(c.iteration({300}, {}, 0))));
  // Many requests: sharing saves blocks; tokens conserved under both preemptions.
  TraceOptions to;
  to.name = "alpaca";
  to.requests = 80;
  to.rate_per_s = 40.0;
  to.shared_prefix = 341;
  const auto t = make_trace(to);
  REQUIRE(t[0].prompt_len > 341);
  for (const char* mode : {"recompute", "swap"}) {
    INFO(mode);
    SchedulerOptions so;
    so.preemption = mode;
    so.kv_capacity_tokens = 1200;  // the prefix's 21 blocks + 54 for the requests' own
    const auto r = run_paged(t, so);
    check_conserved(t, r);
    CHECK(r.preemptions > 0);
    // ~21 of each request's ~27 blocks are the prefix's; a swapped group returns unshared.
    CHECK(r.kv_sharing_saving > 0.3);
  }
  to.shared_prefix = 2000;
  CHECK_THROWS_WITH(make_trace(to), Catch::Contains("shared_prefix 2000"));
}

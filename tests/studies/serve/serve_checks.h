// Helpers shared by the serve tests: a library trace, and the conservation check every
// scheduler's result must pass.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/scheduler.h"

// `n` requests of the library trace `name` arriving at `rate` per second.
inline std::vector<tpusim::serve::Request> serve_trace(const std::string& name, uint64_t n,
                                                       double rate, uint64_t seed) {
  tpusim::serve::TraceOptions o;
  o.name = name;
  o.requests = n;
  o.rate_per_s = rate;
  o.seed = seed;
  return tpusim::serve::make_trace(o);
}

// Every request finished once, after its first token, and every sequence's tokens (width
// sequences per request) were produced exactly once.
inline void check_conserved(const std::vector<tpusim::serve::Request>& t,
                            const tpusim::serve::ScheduleResult& r) {
  REQUIRE(r.requests.size() == t.size());
  uint64_t tokens = 0;
  for (const auto& q : r.requests) {
    REQUIRE(q.first_token_s > q.request.arrival_s);
    REQUIRE(q.finish_s >= q.first_token_s);
    tokens += uint64_t(q.request.output_len) * q.request.width;
  }
  CHECK(r.generated_tokens == tokens);
}

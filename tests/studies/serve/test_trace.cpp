// Traces: determinism, distribution means within stated tolerances, CSV errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "models/errors.h"
#include "sim/studies/serve/request_trace.h"

using namespace tpusim;
using namespace tpusim::serve;

namespace {

struct Means {
  double prompt = 0, output = 0, gap = 0, gap_cv = 0;
};

Means means_of(const std::vector<Request>& t) {
  Means m;
  double prev = 0, s2 = 0;
  for (const auto& r : t) {
    m.prompt += r.prompt_len;
    m.output += r.output_len;
    const double g = r.arrival_s - prev;
    m.gap += g;
    s2 += g * g;
    prev = r.arrival_s;
  }
  const double n = double(t.size());
  m.prompt /= n;
  m.output /= n;
  m.gap /= n;
  m.gap_cv = std::sqrt(s2 / n - m.gap * m.gap) / m.gap;
  return m;
}

std::vector<Request> gen(const std::string& name, uint64_t n, uint64_t seed = 7,
                         double rate = 2.0) {
  TraceOptions o;
  o.name = name;
  o.requests = n;
  o.seed = seed;
  o.rate_per_s = rate;
  return make_trace(o);
}

std::string csv_error(const std::string& text) {
  try {
    parse_trace_csv(text, "t.csv", 2048);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a trace is a function of its seed", "[trace]") {
  const auto a = gen("sharegpt", 500, 3), b = gen("sharegpt", 500, 3), c = gen("sharegpt", 500, 4);
  REQUIRE(a.size() == 500);
  bool same = true, differ = false;
  for (size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].arrival_s == b[i].arrival_s && a[i].prompt_len == b[i].prompt_len &&
           a[i].output_len == b[i].output_len;
    differ = differ || a[i].prompt_len != c[i].prompt_len;
  }
  CHECK(same);
  CHECK(differ);
}

TEST_CASE("the rate changes arrivals but not request shapes", "[trace]") {
  const auto a = gen("orca", 300, 5, 1.0), b = gen("orca", 300, 5, 4.0);
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].prompt_len == b[i].prompt_len);
    REQUIRE(a[i].output_len == b[i].output_len);
    // Same exponential draws scaled by the mean gap: arrival(rate 4) = arrival(rate 1) / 4.
    REQUIRE(b[i].arrival_s == Approx(a[i].arrival_s / 4.0).epsilon(1e-12));
  }
}

TEST_CASE("the mt19937_64 stream is the standard's", "[trace]") {
  // The C++ standard fixes the 10000th output of a default-seeded mt19937_64.
  std::mt19937_64 g;
  g.discard(9999);
  CHECK(g() == 9981545732273789042ull);
}

// n = 20000 draws; tolerances are >= 4 standard errors of the mean plus the clipping bias the
// distribution text states (< 1 % for the lognormal tails).
TEST_CASE("length distributions have their stated means", "[trace]") {
  const uint64_t n = 20000;
  SECTION("orca U{32..512} / U{1..128}") {
    Means m = means_of(gen("orca", n));
    CHECK(m.prompt == Approx((32 + 512) / 2.0).epsilon(0.02));  // sd 139, se 1.0
    CHECK(m.output == Approx((1 + 128) / 2.0).epsilon(0.02));   // sd 37, se 0.26
  }
  SECTION("sharegpt-like 161 / 338") {
    Means m = means_of(gen("sharegpt", n));
    CHECK(m.prompt == Approx(161).epsilon(0.04));  // cv 0.95, se 0.7 %
    CHECK(m.output == Approx(338).epsilon(0.05));
  }
  SECTION("alpaca-like 19 / 58") {
    Means m = means_of(gen("alpaca", n));
    CHECK(m.prompt == Approx(19).epsilon(0.04));
    CHECK(m.output == Approx(58).epsilon(0.05));
  }
  SECTION("longbench-like 1738 in") {
    Means m = means_of(gen("longbench", n));
    CHECK(m.prompt == Approx(1738).epsilon(0.01));
    CHECK(m.output == Approx((16 + 128) / 2.0).epsilon(0.02));
  }
  SECTION("humaneval-like 171 in") {
    Means m = means_of(gen("humaneval", n));
    CHECK(m.prompt == Approx(171).epsilon(0.02));
    CHECK(m.output == Approx((32 + 256) / 2.0).epsilon(0.02));
  }
  SECTION("slora U{8..512} both") {
    Means m = means_of(gen("slora", n));
    CHECK(m.prompt == Approx(260).epsilon(0.02));
    CHECK(m.output == Approx(260).epsilon(0.02));
  }
}

TEST_CASE("every request fits the context", "[trace]") {
  for (const auto& s : trace_shapes()) {
    TraceOptions o;
    o.name = s.name;
    o.requests = 3000;
    o.max_context = 1024;
    for (const auto& r : make_trace(o)) {
      REQUIRE(r.prompt_len >= 1);
      REQUIRE(r.output_len >= 1);
      REQUIRE(r.prompt_len + r.output_len <= 1024);
    }
  }
}

TEST_CASE("arrivals: Poisson gaps have mean 1/rate and cv 1; gamma has the asked cv", "[trace]") {
  Means p = means_of(gen("orca", 20000, 9, 4.0));
  CHECK(p.gap == Approx(0.25).epsilon(0.03));
  CHECK(p.gap_cv == Approx(1.0).epsilon(0.05));
  TraceOptions o;
  o.requests = 20000;
  o.rate_per_s = 4.0;
  o.arrival = "gamma";
  o.cv = 2.0;
  Means g = means_of(make_trace(o));
  CHECK(g.gap == Approx(0.25).epsilon(0.06));
  CHECK(g.gap_cv == Approx(2.0).epsilon(0.10));
}

TEST_CASE("adapter popularity follows Zipf", "[trace]") {
  TraceOptions o;
  o.name = "slora";
  o.requests = 20000;
  o.adapters = 100;
  o.zipf_alpha = 1.0;
  std::vector<int> count(100, 0);
  for (const auto& r : make_trace(o)) {
    REQUIRE(r.adapter >= 0);
    REQUIRE(r.adapter < 100);
    ++count[size_t(r.adapter)];
  }
  // P(0) / P(1) = 2^alpha = 2; P(0) = 1 / H_100 = 0.1928.
  CHECK(double(count[0]) / count[1] == Approx(2.0).epsilon(0.1));
  CHECK(count[0] / 20000.0 == Approx(0.1928).epsilon(0.05));
}

TEST_CASE("CSV traces parse and fail with file:line:column", "[trace]") {
  auto t = parse_trace_csv(
      "arrival_s,prompt_len,output_len,adapter\n# c\n0.5,10,20,3\n\n1.5,30,40,0\n", "t.csv", 2048);
  REQUIRE(t.size() == 2);
  CHECK(t[1].arrival_s == 1.5);
  CHECK(t[1].prompt_len == 30);
  CHECK(t[0].adapter == 3);
  CHECK(parse_trace_csv("0,1,1\n1,2,2\n2,3,3\n", "t.csv", 2048, 2).size() == 2);

  CHECK(csv_error("0,1\n") ==
        "t.csv:1:1: 2 fields; expected 3 (arrival_s,prompt_len,output_len[,adapter])");
  CHECK(csv_error("0,1,2\n0.5,x,2\n") ==
        "t.csv:2:5: prompt_len 'x': expected an integer in 1..2047");
  CHECK(csv_error("1,1,2\n0.5,1,2\n").rfind("t.csv:2:1: arrival_s 0.5 is before", 0) == 0);
  CHECK(csv_error("0,2000,100\n") ==
        "t.csv:1:8: prompt_len + output_len = 2100 exceeds the model's max_context 2048");
  CHECK(csv_error("-1,1,1\n").rfind("t.csv:1:1: arrival_s '-1'", 0) == 0);
  CHECK(csv_error("0,1,0\n").rfind("t.csv:1:5: output_len '0'", 0) == 0);
  CHECK(csv_error("time,prompt_len,output_len\n") ==
        "t.csv:1:1: header column 1 is 'time'; expected 'arrival_s'");
  CHECK(csv_error("0,1,1,2\n1,1,1\n").rfind("t.csv:2:1: 3 fields; expected 4", 0) == 0);
  CHECK(csv_error("0,1,1,-2\n").rfind("t.csv:1:7: adapter '-2'", 0) == 0);
  CHECK(csv_error("# only a comment\n") ==
        "t.csv: no requests (expected rows arrival_s,prompt_len,output_len[,adapter])");
  CHECK(csv_error("nan,1,1\n").rfind("t.csv:1:1: arrival_s 'nan'", 0) == 0);
  CHECK_THROWS_AS(load_trace_csv("/nonexistent/x.csv", 2048), InputError);
}

TEST_CASE("bad trace options are input errors", "[trace]") {
  TraceOptions o;
  o.name = "nope";
  CHECK_THROWS_WITH(make_trace(o), Catch::Contains("not a CSV file and not a named trace"));
  o.name = "orca";
  o.rate_per_s = 0;
  CHECK_THROWS_WITH(make_trace(o), Catch::Contains("rate 0: must be a finite number > 0"));
}

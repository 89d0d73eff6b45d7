// Multi-chip sweeps (issue 13; sim/studies/sweep/sweep.h, "Multi-chip points"): chips / tp / pp as
// swept keys and as fixed values, the resolved split in every record, skipped inconsistent splits,
// and the errors for inconsistent fixed values.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "sim/studies/sweep/sweep.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tpusim;

namespace {

const std::string kDir = SWEEP_TEST_DIR;
const std::string kDriver = TPUSIM_CLI;
const std::string kFile = kDir + "/inline_multichip.yaml";
const std::string kHead = "name: mc\nbase: small-16\nworkloads: [tiny_mlp.yaml]\n";

SweepSpec spec_from(const std::string& text) { return parse_sweep_spec(text, kFile); }

std::string error_of(const std::string& text, const SweepParallel& flags = {}) {
  try {
    SweepSpec s = spec_from(text);
    apply_parallel_flags(s, flags);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("tpusim_sweep_mc_{}_{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_driver(const std::string& args, const fs::path& log_dir) {
  const std::string cmd =
      fmt::format("'{}' sweep {} --no-progress > '{}' 2> '{}'", kDriver, args,
                  (log_dir / "stdout.txt").string(), (log_dir / "stderr.txt").string());
  const int st = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(st));
  return WEXITSTATUS(st);
}

// Points of a spec run in-process, keyed by the swept value of `key`.
std::map<uint64_t, json> run_by(const SweepSpec& spec, const std::string& key) {
  std::map<uint64_t, json> out;
  for (const SweepPoint& p : expand_points(spec))
    out[p.axes.at(key).get<uint64_t>()] = run_point(spec, p);
  return out;
}

}  // namespace

TEST_CASE("multichip sweep: tp 1, 2, 4 split every layer's MACs over the chips") {
  // tiny-mlp 64 -> 48 -> 40 -> 24: fc1 column-, fc2 row-, fc3 column-parallel; every dimension
  // divides by 4, so each chip does exactly 1/T of the useful MACs.
  const SweepSpec spec = spec_from(kHead + "axes:\n  - key: tp\n    values: [1, 2, 4]\n");
  REQUIRE(spec.parallel_used());
  const auto recs = run_by(spec, "tp");
  REQUIRE(recs.size() == 3);
  const json& one = recs.at(1);
  REQUIRE(one["status"] == "ok");
  const uint64_t macs = one["parallel"]["useful_macs_per_chip_max"].get<uint64_t>();
  REQUIRE(macs == 8u * (64 * 48 + 48 * 40 + 40 * 24));
  CHECK(one["parallel"]["chips"] == 1);
  CHECK(one["parallel"]["comm_share"].get<double>() == 0.0);
  for (uint64_t t : {2u, 4u}) {
    INFO("tp " << t);
    const json& r = recs.at(t);
    REQUIRE(r["status"] == "ok");
    CHECK(r["parallel"]["chips"] == t);
    CHECK(r["parallel"]["tp"] == t);
    CHECK(r["parallel"]["pp"] == 1);
    CHECK(r["parallel"]["useful_macs_per_chip_max"].get<uint64_t>() * t == macs);
    // Two collectives per run (fc2's all-reduce, fc3's gather) take a share of the time.
    CHECK(r["parallel"]["comm_share"].get<double>() > 0.0);
    CHECK(r["parallel"]["comm_energy_j"].get<double>() > 0.0);
    // System metrics: all dies, every chip's energy plus the links.
    CHECK(r["metrics"]["area_mm2"].get<double>() ==
          Approx(double(t) * one["metrics"]["area_mm2"].get<double>()));
    CHECK(r["metrics"]["energy_j"].get<double>() > 0.0);
    CHECK(r["metrics"]["utilization"].get<double>() <= 1.0);
  }
}

TEST_CASE("multichip sweep: one-chip points keep the ids and records of a sweep without splits") {
  const SweepSpec plain = spec_from(kHead + "axes:\n  - key: batch\n    values: [4, 8]\n");
  SweepSpec flagged = plain;
  apply_parallel_flags(flagged, SweepParallel{0, 1, 1, 0, "", 0, ""});  // --tp 1 --pp 1
  CHECK_FALSE(flagged.parallel_used());
  const auto a = expand_points(plain), b = expand_points(flagged);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    CHECK(point_text(run_point(plain, a[i])) == point_text(run_point(flagged, b[i])));
  }
  // A fixed --tp 2 makes other points (new ids) that carry the split.
  SweepSpec two = plain;
  apply_parallel_flags(two, SweepParallel{0, 2, 0, 0, "", 0, ""});
  const auto c = expand_points(two);
  REQUIRE(c.size() == a.size());
  for (size_t i = 0; i < c.size(); ++i) {
    CHECK(c[i].id != a[i].id);
    CHECK(c[i].tp == 2);
    CHECK(c[i].pp == 1);
  }
}

TEST_CASE("multichip sweep: chips x tp derives pp and skips inconsistent splits with a reason") {
  const SweepSpec spec = spec_from(
      kHead + "axes:\n  - key: chips\n    values: [2, 4]\n  - key: tp\n    values: [1, 2, 4]\n");
  std::map<std::pair<uint64_t, uint64_t>, SweepPoint> pts;
  for (const SweepPoint& p : expand_points(spec))
    pts[{p.axes["chips"].get<uint64_t>(), p.axes["tp"].get<uint64_t>()}] = p;
  REQUIRE(pts.size() == 6);
  CHECK(pts.at({4, 2}).pp == 2);
  CHECK(pts.at({4, 1}).pp == 4);
  CHECK(pts.at({2, 2}).pp == 1);
  CHECK(pts.at({2, 1}).pp == 2);
  CHECK(pts.at({2, 4}).skip_reason == "chips 2 is not a multiple of tp 4");
  const json rec = run_point(spec, pts.at({2, 4}));
  CHECK(rec["status"] == "skipped");
  CHECK_THAT(rec["reason"].get<std::string>(), Catch::Contains("tp x pp must equal chips"));

  // As a process: the skipped point counts as done, the sweep succeeds and says why.
  fs::path d = scratch("skip");
  std::ofstream(d / "spec.yaml") << "name: mc\nbase: small-16\nworkloads: [" << kDir
                                 << "/tiny_mlp.yaml]\naxes:\n  - key: tp\n    values: [2, 4]\n";
  CHECK(run_driver(fmt::format("'{}' --out '{}' --chips 2 --jobs 1", (d / "spec.yaml").string(),
                               (d / "out").string()),
                   d) == 0);
  CHECK_THAT(slurp(d / "stdout.txt"), Catch::Contains("1 skipped (tp x pp != chips)"));
  const std::string csv = slurp(d / "out" / "summary.csv");
  CHECK_THAT(
      csv,
      Catch::StartsWith(
          "id,status,workload,tp,split.chips,split.tp,split.pp,split.micro_batches,comm_share,"));
  CHECK_THAT(csv, Catch::Contains(",skipped,"));
  CHECK_THAT(csv, Catch::Contains("chips 2 is not a multiple of tp 4"));
  // A rerun keeps both points.
  CHECK(run_driver(fmt::format("'{}' --out '{}' --chips 2", (d / "spec.yaml").string(),
                               (d / "out").string()),
                   d) == 0);
  CHECK_THAT(slurp(d / "stdout.txt"), Catch::Contains("0 run, 2 reused"));
  fs::remove_all(d);
}

TEST_CASE(
    "multichip sweep: inconsistent fixed splits and bad split values are errors naming them") {
  const std::string axes = "axes:\n  - key: batch\n    values: [4]\n";
  // Values from elsewhere (the CLI's flags): named by their source.
  CHECK(error_of(kHead + axes, SweepParallel{6, 4, 0, 0, "", 0, "--chips 6 --tp 4"}) ==
        "--chips 6 --tp 4: chips 6 is not a multiple of tp 4");
  CHECK(error_of(kHead + axes, SweepParallel{6, 4, 2, 0, "", 0, "--chips 6 --tp 4 --pp 2"}) ==
        "--chips 6 --tp 4 --pp 2: chips 6 is not tp 4 x pp 2");
  // The spec's parallel block: the file and the key.
  CHECK(error_of(kHead + axes + "parallel: {chips: 6, tp: 4}\n") ==
        kFile + ": key 'parallel': chips 6 is not a multiple of tp 4");
  CHECK_THAT(error_of(kHead + axes + "parallel: {chips: 2, bogus: 1}\n"),
             Catch::StartsWith(kFile + ": ") && Catch::Contains("parallel.bogus"));
  CHECK_THAT(
      error_of(kHead + "axes:\n  - key: tp\n    values: [0]\n"),
      Catch::StartsWith(kFile + ": key 'axes[0].values[0]'") && Catch::Contains("[1, 4096]"));
  CHECK_THAT(error_of(kHead + "axes:\n  - key: pp\n    factors: [2]\n"),
             Catch::Contains("axes[0].factors") && Catch::Contains("no numeric base value"));
  // With a split axis the fixed values are not checked alone (points are skipped instead).
  CHECK(error_of(kHead + "axes:\n  - key: tp\n    values: [2]\n",
                 SweepParallel{6, 4, 0, 0, "", 0, ""})
            .empty());

  fs::path d = scratch("flags");
  std::ofstream(d / "spec.yaml") << "name: mc\nbase: small-16\nworkloads: [" << kDir
                                 << "/tiny_mlp.yaml]\n"
                                 << axes;
  CHECK(run_driver(fmt::format("'{}' --out '{}' --chips 6 --tp 4", (d / "spec.yaml").string(),
                               (d / "out").string()),
                   d) == 2);
  CHECK_THAT(slurp(d / "stderr.txt"), Catch::Contains("--chips 6 --tp 4"));
  fs::remove_all(d);
}

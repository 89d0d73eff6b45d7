// Sweeps (sim/studies/sweep/sweep.h): spec parsing and its errors, point expansion and ids, and the
// runner as a process (`tpusim sweep`): killed midway and resumed, thread-count independence,
// failed points, one point at a time (the Ray path).
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
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
const std::string kSmall = kDir + "/small.yaml";

// A fresh, empty scratch folder under the build's temp dir.
fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("tpusim_sweep_{}_{}", name, ::getpid());
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

struct Exit {
  bool signaled = false;
  int code = -1;  // exit status, or the signal number when signaled
};

// Runs the driver with `args` (stdout and stderr to files in `log_dir`).
Exit driver(const std::string& args, const fs::path& log_dir) {
  std::string cmd =
      fmt::format("'{}' sweep {} --no-progress > '{}' 2> '{}'", kDriver, args,
                  (log_dir / "stdout.txt").string(), (log_dir / "stderr.txt").string());
  // The shell reports a child killed by signal N as exit status 128 + N.
  int st = std::system(cmd.c_str());
  Exit e;
  REQUIRE(WIFEXITED(st));
  int code = WEXITSTATUS(st);
  if (code > 128) {
    e.signaled = true;
    e.code = code - 128;
  } else {
    e.code = code;
  }
  return e;
}

std::map<std::string, std::string> point_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 5 && n.substr(n.size() - 5) == ".json")
      out[n.substr(0, n.size() - 5)] = slurp(e.path());
  }
  return out;
}

ino_t inode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

SweepSpec spec_from(const std::string& text) {
  return parse_sweep_spec(text, kDir + "/inline.yaml");
}

std::string error_of(const std::string& text) {
  try {
    spec_from(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

const std::string kHead = "name: t\nbase: small-16\nworkloads: [tiny_mlp.yaml]\n";

}  // namespace

TEST_CASE("spec: values ranges factors and ties expand to their points") {
  SweepSpec s =
      spec_from(kHead +
                "axes:\n"
                "  - key: clock_mhz\n    range: {from: 100, to: 400, step: 150}\n"
                "  - tie: [array.rows, array.cols]\n    values: [8, [16, 8]]\n"
                "  - key: weight_memory.bandwidth_gb_s\n    factors: [0.25, 4]\n"
                "  - key: technology.voltage_v\n    range: {from: 0.7, to: 0.91, step: 0.1}\n");
  REQUIRE(s.axes.size() == 4);
  CHECK(s.axes[0].values.size() == 3);  // 100, 250, 400
  CHECK(s.axes[0].values[2][0] == json(400u));
  CHECK(s.axes[1].name == "array.rows+array.cols");
  CHECK(s.axes[1].values[0] == std::vector<json>{json(8u), json(8u)});
  CHECK(s.axes[1].values[1] == std::vector<json>{json(16u), json(8u)});
  CHECK(s.axes[2].values[0][0].get<double>() == Approx(5.6 * 0.25));
  CHECK(s.axes[2].values[1][0].get<double>() == Approx(5.6 * 4));
  // 0.7 + 2 x 0.1 is 0.9 exactly in the spec's decimal sense, not 0.8999999999999999.
  CHECK(s.axes[3].values[2][0].dump() == "0.9");
  CHECK(s.metrics == kDefaultMetrics);
  const auto pts = expand_points(s);
  CHECK(pts.size() == 3 * 2 * 2 * 3);
  std::set<std::string> ids;
  for (const auto& p : pts) ids.insert(p.id);
  CHECK(ids.size() == pts.size());

  SweepSpec g =
      spec_from(kHead + "axes:\n  - key: batch\n    range: {from: 1, to: 16, scale: 2}\n");
  REQUIRE(g.axes[0].values.size() == 5);
  CHECK(g.axes[0].values[4][0] == json(16u));
}

TEST_CASE("spec: a point's id is what it resolves to and not how it was spelled") {
  // The base value written out, reached by a factor of 1, or left to the base: one id.
  auto id_of = [](const std::string& axis) {
    auto pts = expand_points(spec_from(kHead + "axes:\n" + axis));
    REQUIRE(pts.size() == 1);
    return pts[0].id;
  };
  const std::string a = id_of("  - key: clock_mhz\n    values: [700]\n");
  CHECK(a == id_of("  - key: clock_mhz\n    factors: [1]\n"));
  CHECK(a == id_of("  - key: weight_memory.type\n    values: [ddr3]\n"));
  CHECK(a != id_of("  - key: clock_mhz\n    values: [701]\n"));
  CHECK(a != id_of("  - key: batch\n    values: [3]\n"));
  CHECK(a.size() == 16);

  // one_at_a_time: the base point once, then each axis alone (the base value is not repeated).
  SweepSpec s = spec_from(kHead +
                          "design: one_at_a_time\naxes:\n"
                          "  - key: clock_mhz\n    factors: [0.5, 1, 2]\n"
                          "  - key: batch\n    values: [2, 4]\n");
  const auto pts = expand_points(s);
  REQUIRE(pts.size() == 1 + 2 + 2);
  CHECK(pts[0].axes["clock_mhz"] == json(700u));
  CHECK(pts[0].axes["batch"].is_null());
  CHECK(pts[1].axes["clock_mhz"] == json(350u));
  CHECK(pts[3].axes["batch"] == json(2u));
  CHECK(pts[3].axes["clock_mhz"] == json(700u));
}

TEST_CASE("spec: errors name the file and the key") {
  const std::string file = kDir + "/inline.yaml";
  struct Case {
    std::string text, key, what;
  };
  const std::vector<Case> cases = {
      {kHead + "axes:\n  - key: clock_mhz\n    values: [1]\nbogus: 1\n", "bogus", ""},
      {kHead + "axes:\n  - key: array.depth\n    values: [1]\n", "axes[0].key",
       "not a sweepable key"},
      {kHead + "axes:\n  - key: name\n    values: [x]\n", "axes[0].key", "not a sweepable key"},
      {kHead + "axes:\n  - key: array\n    values: [1]\n", "axes[0].key", "not a sweepable key"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: []\n", "axes[0].values", "empty"},
      {kHead + "axes: []\n", "axes", "non-empty"},
      {kHead, "axes", "missing"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: [1]\n    step: 2\n", "axes[0].step", ""},
      {kHead + "axes:\n  - key: clock_mhz\n    range: {from: 1, to: 4, step: 1, scale: 2}\n",
       "axes[0].range.step", "exactly one"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: [fast]\n", "axes[0].values[0]", "integer"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: [1.5]\n", "axes[0].values[0]", "integer"},
      {kHead + "axes:\n  - key: phase\n    values: [middle]\n", "axes[0].values[0]", "prefill"},
      {kHead + "axes:\n  - key: clock_mhz\n    factors: [0.3333]\n", "axes[0].factors[0]",
       "not an integer"},
      {kHead + "axes:\n  - key: weight_memory.type\n    factors: [2]\n", "axes[0].factors",
       "numeric"},
      {kHead + "axes:\n  - tie: [array.rows, array.cols]\n    values: [[8, 8, 8]]\n",
       "axes[0].values[0]", "one per tied key"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: [1]\n  - tie: [array.rows, clock_mhz]\n    "
               "values: [8]\n",
       "axes[1]", "two axes"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: [1]\nmetrics: [tops, speed]\n", "metrics[1]",
       "unknown metric"},
      {kHead + "axes:\n  - key: clock_mhz\n    values: [1]\nmode: cycle\n", "mode", ""},
      {"name: t\nbase: small-16\nworkloads: [no_such_workload]\naxes:\n  - key: clock_mhz\n    "
       "values: [1]\n",
       "workloads[0]", ""},
      {"name: t\nbase: no-such-arch\nworkloads: [mlp0]\naxes:\n  - key: clock_mhz\n    values: "
       "[1]\n",
       "base", "unknown arch"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const std::string err = error_of(c.text);
    CHECK_THAT(err, Catch::StartsWith(file + ": "));
    CHECK_THAT(err, Catch::Contains("key '" + c.key + "'"));
    CHECK_THAT(err, Catch::Contains(c.what));
  }
  // The CLI turns them into exit code 2 with one line on stderr.
  fs::path d = scratch("cli_error");
  std::ofstream(d / "bad.yaml") << "name: t\nbase: small-16\nworkloads: [" << kDir
                                << "/tiny_mlp.yaml]\naxes:\n  - key: clock_mhz\n    values: []\n";
  Exit e =
      driver(fmt::format("'{}' --out '{}'", (d / "bad.yaml").string(), (d / "out").string()), d);
  CHECK_FALSE(e.signaled);
  CHECK(e.code == 2);
  const std::string err = slurp(d / "stderr.txt");
  CHECK_THAT(err, Catch::Contains("bad.yaml: key 'axes[0].values'"));
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(d / "out"));
  fs::remove_all(d);
}

TEST_CASE("run: killed midway then resumed equals a fresh run") {
  fs::path d = scratch("resume");
  const fs::path out = d / "out", fresh = d / "fresh";
  const size_t total = expand_points(load_sweep_spec(kSmall)).size();
  REQUIRE(total == 24);

  // SIGKILL after 5 points (--stop-after): no results, only whole point files left.
  Exit k = driver(fmt::format("'{}' --out '{}' --jobs 2 --stop-after 5", kSmall, out.string()), d);
  CHECK(k.signaled);
  CHECK(k.code == 9);
  CHECK_FALSE(fs::exists(out / "results.jsonl"));
  auto before = point_files(out / "points");
  CHECK(before.size() >= 5);
  CHECK(before.size() < total);
  std::map<std::string, ino_t> inodes;
  for (const auto& [id, text] : before) inodes[id] = inode(out / "points" / (id + ".json"));

  // A second kill on resume, then the resume that finishes.
  Exit k2 = driver(fmt::format("'{}' --out '{}' --jobs 1 --stop-after 3", kSmall, out.string()), d);
  CHECK(k2.signaled);
  CHECK(point_files(out / "points").size() == before.size() + 3);
  Exit r = driver(fmt::format("'{}' --out '{}' --jobs 2", kSmall, out.string()), d);
  CHECK_FALSE(r.signaled);
  CHECK(r.code == 0);
  CHECK_THAT(slurp(d / "stdout.txt"),
             Catch::Contains(fmt::format("{} points, {} run, {} reused, 0 failed", total,
                                         total - before.size() - 3, before.size() + 3)));
  // Finished points were kept, not redone: the same files (inodes), byte for byte.
  for (const auto& [id, text] : before) {
    CHECK(inode(out / "points" / (id + ".json")) == inodes[id]);
    CHECK(slurp(out / "points" / (id + ".json")) == text);
  }

  Exit f = driver(fmt::format("'{}' --out '{}' --jobs 3", kSmall, fresh.string()), d);
  CHECK(f.code == 0);
  auto resumed = point_files(out / "points"), clean = point_files(fresh / "points");
  CHECK(resumed.size() == total);
  CHECK(resumed == clean);
  CHECK(point_files(out / "failed").empty());
  // No temporaries are left behind, and every point is in results.jsonl exactly once.
  for (const auto& e : fs::directory_iterator(out / "points"))
    CHECK(e.path().filename().string()[0] != '.');
  const std::string jsonl = slurp(out / "results.jsonl");
  CHECK(jsonl == slurp(fresh / "results.jsonl"));
  CHECK(slurp(out / "summary.csv") == slurp(fresh / "summary.csv"));
  std::istringstream lines(jsonl);
  std::multiset<std::string> ids;
  std::string prev;
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    CHECK(j["status"] == "ok");
    CHECK(j["id"].get<std::string>() > prev);  // sorted, each once
    prev = j["id"].get<std::string>();
    ids.insert(prev);
  }
  CHECK(ids.size() == total);
  for (const auto& [id, text] : clean) CHECK(ids.count(id) == 1);
  fs::remove_all(d);
}

TEST_CASE("run: jobs 1 and jobs 4 give byte-identical results") {
  fs::path d = scratch("jobs");
  CHECK(driver(fmt::format("'{}' --out '{}' --jobs 1", kSmall, (d / "j1").string()), d).code == 0);
  CHECK(driver(fmt::format("'{}' --out '{}' --jobs 4", kSmall, (d / "j4").string()), d).code == 0);
  const std::string a = slurp(d / "j1" / "results.jsonl");
  CHECK_FALSE(a.empty());
  CHECK(a == slurp(d / "j4" / "results.jsonl"));
  CHECK(slurp(d / "j1" / "summary.csv") == slurp(d / "j4" / "summary.csv"));
  // Metrics vary with the axes (a sweep whose points all read the same would pass the above).
  std::set<double> seconds;
  std::istringstream lines(a);
  for (std::string line; std::getline(lines, line);)
    seconds.insert(json::parse(line)["metrics"]["seconds"].get<double>());
  CHECK(seconds.size() > 12);
  fs::remove_all(d);
}

TEST_CASE("run: failed points are reported and the rest complete") {
  fs::path d = scratch("failed");
  const std::string spec = kDir + "/with_failures.yaml";
  Exit e = driver(fmt::format("'{}' --out '{}' --jobs 2", spec, (d / "out").string()), d);
  CHECK(e.code == 1);
  auto ok = point_files(d / "out" / "points"), failed = point_files(d / "out" / "failed");
  CHECK(ok.size() == 4);
  REQUIRE(failed.size() == 2);
  for (const auto& [id, text] : failed) {
    json j = json::parse(text);
    CHECK(j["status"] == "failed");
    CHECK(j["axes"]["unified_buffer_bytes"] == json(16390u));
    CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("unified_buffer_bytes"));
  }
  const std::string jsonl = slurp(d / "out" / "results.jsonl");
  CHECK(std::count(jsonl.begin(), jsonl.end(), '\n') == 6);
  CHECK_THAT(slurp(d / "out" / "summary.csv"), Catch::Contains(",failed,"));
  // A rerun retries only the failed points.
  Exit again = driver(fmt::format("'{}' --out '{}'", spec, (d / "out").string()), d);
  CHECK(again.code == 1);
  CHECK_THAT(slurp(d / "stdout.txt"), Catch::Contains("6 points, 2 run, 4 reused, 2 failed"));
  fs::remove_all(d);
}

TEST_CASE("run: one point at a time writes the bytes of the full sweep") {
  fs::path d = scratch("only");
  const fs::path full = d / "full", one = d / "one";
  REQUIRE(driver(fmt::format("'{}' --out '{}' --jobs 2", kSmall, full.string()), d).code == 0);
  REQUIRE(driver(fmt::format("'{}' --out '{}' --list", kSmall, one.string()), d).code == 0);
  std::istringstream lines(slurp(d / "stdout.txt"));
  size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    json j = json::parse(line);
    CHECK(j["done"] == false);
    const std::string id = j["id"].get<std::string>();
    // Spec given by another spelling of its path: the point must not depend on it.
    const std::string other = (fs::path(kDir) / ".." / "sweep" / "small.yaml").string();
    REQUIRE(
        driver(fmt::format("'{}' --out '{}' --only-point {}", other, one.string(), id), d).code ==
        0);
  }
  CHECK(n == 24);
  REQUIRE(driver(fmt::format("'{}' --out '{}' --collect", kSmall, one.string()), d).code == 0);
  CHECK(point_files(one / "points") == point_files(full / "points"));
  CHECK(slurp(one / "results.jsonl") == slurp(full / "results.jsonl"));
  CHECK(
      driver(fmt::format("'{}' --out '{}' --only-point 0123456789abcdef", kSmall, one.string()), d)
          .code == 2);
  fs::remove_all(d);
}

// `tpusim app APP.yaml --rate R --requests N`: an application pipeline end to end
// (sim/studies/app/).
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/errors.h"
#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/cli/progress.h"
#include "sim/common/files.h"
#include "sim/studies/app/app_sim.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace tpusim::cli {

namespace {

struct AppArgs {
  std::string file;
  app::AppRunOptions run;
  std::string out_dir;
  OutputArgs out;
};

std::string ms(const json& v) { return fmt::format("{:.3f}", v.get<double>() * 1e3); }

// The per-stage table in Markdown (also the summary on stdout).
std::string stage_table(const json& r) {
  std::string s =
      "| stage | kind | servers | mean batch | service at max batch (ms) | capacity (req/s) | "
      "utilization | p50 (ms) | p99 (ms) | energy (J/query) | carbon (g/query) |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& st : r["stages"]) {
    const json& cap = st["capacity_requests_per_s"];
    s += fmt::format("| {} | {} | {} | {:.2f} | {} | {} | {:.1f} % | {} | {} | {:.4g} | {:.4g} |\n",
                     st["name"].get<std::string>(), st["kind"].get<std::string>(),
                     st["servers"].get<uint32_t>(), st["mean_batch"].get<double>(),
                     ms(st["service_s_at_max_batch"]),
                     cap.is_null() ? std::string("-") : fmt::format("{:.4g}", cap.get<double>()),
                     100.0 * st["utilization"].get<double>(), ms(st["latency_s"]["p50"]),
                     ms(st["latency_s"]["p99"]), st["energy_j_per_query"].get<double>(),
                     st["carbon_g_per_query"]["total"].get<double>());
  }
  s += fmt::format(
      "| **end to end** | | | | | {:.4g} | | {} | {} | {:.4g} | {:.4g} |\n",
      r["capacity_requests_per_s"].is_null() ? 0.0 : r["capacity_requests_per_s"].get<double>(),
      ms(r["latency_s"]["p50"]), ms(r["latency_s"]["p99"]), r["energy_j_per_query"].get<double>(),
      r["carbon_g_per_query"]["total"].get<double>());
  return s;
}

int run(AppArgs& a) {
  const app::AppSpec spec = app::load_app(a.file);
  if (!a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec)
      throw InputError(fmt::format("--out {}: cannot create folder: {}", a.out_dir, ec.message()));
  }
  app::StageCosts costs(spec);
  std::unique_ptr<ProgressBar> bar;
  if (progress_wanted(a.out.quiet))
    a.run.progress = [&](uint64_t done, uint64_t total) {
      if (!bar) bar = std::make_unique<ProgressBar>(spec.name, "requests", true);
      bar->update(done, total);
    };
  const json rep = app::run_app(spec, costs, a.run);
  bar.reset();
  const std::string table = stage_table(rep);
  if (!a.out.json_file.empty()) write_file_atomic(a.out.json_file, rep.dump(2) + "\n", a.out.force);
  if (!a.out_dir.empty()) {
    write_file_atomic((fs::path(a.out_dir) / "report.json").string(), rep.dump(2) + "\n",
                      a.out.force);
    write_file_atomic((fs::path(a.out_dir) / "stages.md").string(), table, a.out.force);
  }
  if (!a.out.quiet) {
    fmt::print(
        "app {} at {:.4g} req/s x{}: {:.4g} req/s, latency p50/p90/p99 {:.3f}/{:.3f}/{:.3f} ms, "
        "{:.4g} J/query, {:.4g} g CO2e/query, bottleneck {} ({:.4g} req/s); {} engine runs\n",
        spec.name, a.run.rate, a.run.requests, rep["throughput_requests_per_s"].get<double>(),
        rep["latency_s"]["p50"].get<double>() * 1e3, rep["latency_s"]["p90"].get<double>() * 1e3,
        rep["latency_s"]["p99"].get<double>() * 1e3, rep["energy_j_per_query"].get<double>(),
        rep["carbon_g_per_query"]["total"].get<double>(), rep["bottleneck"].get<std::string>(),
        rep["capacity_requests_per_s"].is_null() ? 0.0
                                                 : rep["capacity_requests_per_s"].get<double>(),
        rep["engine_runs"].get<uint64_t>());
    fmt::print("{}", table);
  }
  return 0;
}

}  // namespace

Command add_app_command(CLI::App& cli) {
  auto a = std::make_shared<AppArgs>();
  auto* s = cli.add_subcommand(
      "app", "Run a request stream through an application (model, host and retrieval stages)");
  s->add_option("app", a->file, "Application name (workloads/apps) or YAML path")->required();
  s->add_option("--rate", a->run.rate, "Mean arrival rate, requests/s")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  s->add_option("--requests", a->run.requests, "Requests to simulate")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t(1), app::kMaxRequests));
  s->add_option("--seed", a->run.seed, "Arrival and sampling seed")->capture_default_str();
  s->add_option("--arrival", a->run.arrival, "Arrival process")
      ->capture_default_str()
      ->check(CLI::IsMember({"poisson", "uniform"}));
  s->add_option("--out", a->out_dir, "Folder for report.json and stages.md");
  add_output_options(s, a->out, "Report JSON file");
  return {s, [a] { return run(*a); }};
}

}  // namespace tpusim::cli

// `tpusim list archs|workloads [--json]`.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "models/config.h"
#include "sim/cli/commands.h"
#include "sim/compiler/workload.h"

using nlohmann::json;

namespace tpusim::cli {

namespace {

struct ListArgs {
  std::string what;
  bool json = false;
};

int run(const ListArgs& a) {
  json arr = json::array();
  if (a.what == "archs") {
    for (const auto& name : list_arch_presets()) {
      const TpuConfig c = load_config(name);
      arr.push_back({{"name", name}, {"description", c.description}, {"source", c.source}});
    }
    if (!a.json)
      for (const auto& e : arr)
        fmt::print("{:<16} {}\n", e["name"].get<std::string>(),
                   e["description"].get<std::string>());
  } else {
    for (const auto& e : list_workloads())
      arr.push_back({{"name", e.name}, {"paper", e.paper}, {"description", e.description}});
    if (!a.json)
      for (const auto& e : arr)
        fmt::print("{:<22} {}\n", e["name"].get<std::string>(), e["paper"].get<std::string>());
  }
  if (a.json) std::cout << arr.dump(2) << "\n";
  return 0;
}

}  // namespace

Command add_list_command(CLI::App& app) {
  auto a = std::make_shared<ListArgs>();
  auto* c = app.add_subcommand("list", "List arch presets or workloads");
  c->add_option("what", a->what, "archs | workloads")
      ->required()
      ->check(CLI::IsMember({"archs", "workloads"}));
  c->add_flag("--json", a->json, "JSON output");
  return {c, [a] { return run(*a); }};
}

}  // namespace tpusim::cli

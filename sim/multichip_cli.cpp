#include "sim/multichip_cli.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "models/config.h"
#include "models/errors.h"
#include "sim/report.h"

namespace tpusim {

using nlohmann::json;

void add_parallel_options(CLI::App* cmd, ParallelArgs& a) {
  cmd->add_option("--chips", a.chips, "Chips (= tp x pp; alone: tensor parallel over all)")
      ->check(CLI::Range(1u, 4096u));
  cmd->add_option("--tp", a.tp, "Tensor-parallel chips per stage")->check(CLI::Range(1u, 4096u));
  cmd->add_option("--pp", a.pp, "Pipeline stages")->check(CLI::Range(1u, 4096u));
  cmd->add_option("--micro-batches", a.micro_batches, "Pipeline micro-batches (0 = default)")
      ->check(CLI::Range(0u, 1u << 20));
  cmd->add_option("--balance", a.balance, "Pipeline stage balance")
      ->check(CLI::IsMember({"weights", "time"}));
  cmd->add_option("--collective-bytes", a.collective_bytes,
                  "Bytes per activation element in collectives (1 int8, 4 int32 partial sums)")
      ->check(CLI::Range(1u, 8u));
}

MultiChipOptions parallel_options(const ParallelArgs& a) {
  MultiChipOptions o;
  o.tp = a.tp;
  o.pp = a.pp;
  if (a.chips > 1 && a.tp == 1 && a.pp == 1) o.tp = a.chips;
  o.chips = a.chips;
  if (o.chips && o.chips != o.tp * o.pp)
    throw InputError(fmt::format("--chips {} must equal --tp {} x --pp {}", o.chips, o.tp, o.pp));
  o.micro_batches = a.micro_batches;
  o.balance = a.balance;
  o.collective_bytes_per_element = a.collective_bytes;
  return o;
}

void print_multichip_summary(const json& r, std::ostream& out) {
  const json& s = r["split"];
  out << fmt::format("tpusim multichip | arch {} | interconnect {} {} | workload {}\n",
                     r["arch"]["name"].get<std::string>(), r["interconnect"]["type"].get<std::string>(),
                     r["interconnect"]["topology"].get<std::string>(), r["workload"]["name"].get<std::string>());
  out << fmt::format("split: {} chips = tp {} x pp {}, {} micro-batches of {}, {} distinct shard(s) simulated\n",
                     s["chips"].get<uint32_t>(), s["tp"].get<uint32_t>(), s["pp"].get<uint32_t>(),
                     s["micro_batches"].get<uint32_t>(), s["micro_batch_size"].get<uint64_t>(),
                     s["distinct_shards_simulated"].get<uint64_t>());
  auto row = [&](const std::string& k, const std::string& v) { out << fmt::format("{:<30}{:>20}\n", k, v); };
  row(fmt::format("latency ({})", r["latency_kind"].get<std::string>()),
      fmt::format("{:.6g} s", r["latency_s"].get<double>()));
  if (r.contains("tokens_per_s")) {
    row("tokens/s", fmt::format("{:.6g}", r["tokens_per_s"].get<double>()));
    row("energy per token", fmt::format("{:.6g} J", r["energy_per_token_j"].get<double>()));
  } else {
    row("items/s", fmt::format("{:.6g}", r["items_per_s"].get<double>()));
    row("energy per item", fmt::format("{:.6g} J", r["energy_per_item_j"].get<double>()));
  }
  row("communication share", fmt::format("{:.3g} %", 100.0 * r["communication"]["share"].get<double>()));
  row("communication energy", fmt::format("{:.4g} J", r["communication"]["energy_j"].get<double>()));
  row("critical path", r["critical_path"]["bound"].get<std::string>());
  row("max weight bytes per chip", std::to_string(r["capacity"]["weight_bytes_per_chip_max"].get<uint64_t>()));
  row("fits weight memory", r["capacity"]["fits"].get<bool>() ? "yes" : "NO");
}

CLI::App* add_plan_command(CLI::App& app, PlanArgs& a) {
  auto* p = app.add_subcommand("plan", "Fewest chips and best tensor x pipeline split meeting a latency SLO");
  p->add_option("--arch", a.arch, "Arch preset name or YAML path")->required();
  p->add_option("--workload", a.workload, "Workload name or YAML path")->required();
  p->add_option("--slo-latency", a.slo_latency,
                "Latency objective, s (decode: per output token; prefill: TTFT; else the batch)")
      ->required()
      ->check(CLI::PositiveNumber);
  p->add_option("--max-chips", a.max_chips, "Largest chip count searched")->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  p->add_option("--batch", a.batch, "Batch size override")->check(CLI::Range(1u, 1u << 20));
  p->add_option("--phase", a.phase, "LLM phase")->check(CLI::IsMember({"prefill", "decode"}));
  p->add_option("--prompt-len", a.prompt_len, "Prompt tokens per sequence")->check(CLI::Range(1u, 1u << 20));
  p->add_option("--context-len", a.context_len, "Decode context tokens")->check(CLI::Range(1u, 1u << 24));
  p->add_option("--micro-batches", a.micro_batches, "Pipeline micro-batches (0 = default)");
  p->add_option("--balance", a.balance, "Pipeline stage balance")->check(CLI::IsMember({"weights", "time"}));
  p->add_option("--collective-bytes", a.collective_bytes, "Bytes per element in collectives")
      ->check(CLI::Range(1u, 8u));
  p->add_option("--json", a.json_file, "Plan JSON file");
  p->add_flag("--force", a.force, "Replace an existing JSON file");
  p->add_flag("--quiet", a.quiet, "No table on stdout");
  return p;
}

int cmd_plan(const PlanArgs& a, std::ostream& out) {
  PlanOptions po;
  po.slo_latency_s = a.slo_latency;
  po.max_chips = a.max_chips;
  po.micro_batches = a.micro_batches;
  po.balance = a.balance;
  po.collective_bytes_per_element = a.collective_bytes;
  const TpuConfig cfg = load_config(a.arch);
  const json r = plan_multichip(cfg, a.workload,
                                WorkloadParams{a.batch, a.phase, a.prompt_len, a.context_len}, po);
  if (!a.json_file.empty()) write_file_atomic(a.json_file, r.dump(2) + "\n", a.force);
  if (!a.quiet) {
    out << fmt::format("plan | arch {} | workload {} | SLO {} <= {:.6g} s | weights need >= {} chips\n",
                       cfg.name, r["workload"]["name"].get<std::string>(),
                       r["latency_kind"].get<std::string>(), a.slo_latency,
                       r["search"]["chips_needed_for_weights"].get<uint64_t>());
    out << fmt::format("{:>6} {:>4} {:>4} {:>12} {:>14} {:>14} {:>8}  {}\n", "chips", "tp", "pp",
                       "latency_s", "per_s", "J_per_unit", "comm_%", "result");
    uint64_t skipped = 0;
    for (const json& c : r["candidates"]) {
      if (!c.contains("latency_s")) {
        ++skipped;  // a split the model's shapes do not allow (reason in the JSON)
        continue;
      }
      out << fmt::format("{:>6} {:>4} {:>4} {:>12.6g} {:>14.6g} {:>14.6g} {:>8.1f}  {}\n",
                         c["chips"].get<uint32_t>(), c["tp"].get<uint32_t>(), c["pp"].get<uint32_t>(),
                         c["latency_s"].get<double>(), c["throughput_per_s"].get<double>(),
                         c["energy_per_unit_j"].get<double>(), 100.0 * c["comm_share"].get<double>(),
                         c["meets_slo"].get<bool>() ? "meets SLO" : c.value("why_not", std::string("-")));
    }
    if (skipped)
      out << fmt::format("({} splits the layer shapes do not allow, e.g. tp not dividing the heads: see --json)\n",
                         skipped);
    if (r["found"].get<bool>()) {
      const json& b = r["best"];
      out << fmt::format("best: {} chips = tp {} x pp {}: {:.6g} s, {:.6g} /s, {:.6g} J per unit\n",
                         b["chips"].get<uint32_t>(), b["tp"].get<uint32_t>(), b["pp"].get<uint32_t>(),
                         b["latency_s"].get<double>(), b["throughput_per_s"].get<double>(),
                         b["energy_per_unit_j"].get<double>());
    } else {
      out << fmt::format("no split of up to {} chips meets the SLO\n", a.max_chips);
    }
  }
  return r["found"].get<bool>() ? 0 : 3;
}

}  // namespace tpusim

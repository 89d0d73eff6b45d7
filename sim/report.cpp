#include "sim/report.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "models/errors.h"

namespace fs = std::filesystem;

namespace tpusim {

nlohmann::json tool_json() { return {{"name", "tpusim"}, {"version", TPUSIM_VERSION}}; }

nlohmann::json arch_json(const TpuConfig& c) {
  using nlohmann::json;
  return json{
      {"name", c.name},
      {"description", c.description},
      {"source", c.source},
      {"array", {{"rows", c.array.rows}, {"cols", c.array.cols}}},
      {"clock_mhz", c.clock_mhz},
      {"unified_buffer_bytes", c.unified_buffer_bytes},
      {"accumulators", {{"entries", c.accumulator_entries}}},
      {"weight_fifo", {{"tiles", c.weight_fifo_tiles}}},
      {"weight_memory",
       {{"type", c.weight_memory.type},
        {"bytes", c.weight_memory.bytes},
        {"bandwidth_gb_s", double(c.weight_memory.bandwidth_mb_s) / 1000.0},
        {"latency_cycles", c.weight_memory.latency_cycles}}},
      {"host_link",
       {{"type", c.host_link.type},
        {"bandwidth_gb_s", double(c.host_link.bandwidth_mb_s) / 1000.0},
        {"latency_cycles", c.host_link.latency_cycles}}},
      {"data",
       {{"act_bits", c.data.act_bits}, {"weight_bits", c.data.weight_bits},
        {"acc_bits", c.data.acc_bits}}},
      {"technology", {{"node_nm", c.technology.node_nm}, {"voltage_v", c.technology.voltage_v}}},
      {"derived",
       {{"vector_bytes", c.vector_bytes()},
        {"tile_bytes", c.tile_bytes()},
        {"peak_tops", c.peak_tops()},
        {"ridge_macs_per_weight_byte", c.ridge_macs_per_weight_byte()}}},
  };
}

nlohmann::json counts_json(const EventCounts& n, bool timed) {
  nlohmann::json j{
      {"instructions", n.instructions},
      {"matmul_rows", n.matmul_rows},
      {"macs", n.macs},
      {"weight_tiles", n.weight_tiles},
      {"act_rows_in", n.act_rows_in},
      {"act_rows_out", n.act_rows_out},
      {"bytes",
       {{"ub_read", n.ub_read_bytes},
        {"ub_write", n.ub_write_bytes},
        {"acc_read", n.acc_read_bytes},
        {"acc_write", n.acc_write_bytes},
        {"weight_fifo_write", n.weight_fifo_write_bytes},
        {"weight_fifo_read", n.weight_fifo_read_bytes},
        {"weight_memory_read", n.weight_memory_read_bytes},
        {"host_read", n.host_read_bytes},
        {"host_write", n.host_write_bytes}}},
  };
  if (timed) {
    j["cycles"] = n.cycles;
    j["cycle_counts"] = {{"array_active", n.array_active_cycles},
                         {"weight_stall", n.weight_stall_cycles},
                         {"weight_shift", n.weight_shift_cycles},
                         {"non_matrix", n.non_matrix_cycles},
                         {"raw_stall", n.raw_stall_cycles},
                         {"input_stall", n.input_stall_cycles}};
  }
  return j;
}

void write_file_atomic(const std::string& path, const std::string& content, bool force) {
  fs::path p(path);
  std::error_code ec;
  if (fs::exists(p, ec) && !force)
    throw InputError(fmt::format("{}: file exists (use --force to replace it)", path));
  if (fs::is_directory(p, ec)) throw InputError(fmt::format("{}: is a directory", path));
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("{}: folder {} does not exist", path, dir.string()));
  fs::path tmp = dir / fmt::format(".{}.tmp.{}", p.filename().string(), ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(fmt::format("{}: cannot write in folder {}", path, dir.string()));
    out.write(content.data(), std::streamsize(content.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      throw InputError(fmt::format("{}: write failed", path));
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(fmt::format("{}: cannot rename the temporary file into place", path));
  }
}

}  // namespace tpusim

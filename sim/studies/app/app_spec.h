// An application: a small dataflow graph of stages (model calls on a simulated chip or a roofline
// device, host CPU stages, retrieval stages) that every request of a stream passes through
// (`tpusim app`, issue 24). Read from YAML by one strict loader: unknown keys, unknown stage
// kinds, missing workloads / archs / devices, edges to unknown stages and cycles are InputErrors
// naming the file and the key (`stages[2].after`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/compiler/workload.h"

namespace tpusim::app {

enum class StageKind { kModel, kHost, kRetrieval };
const char* kind_name(StageKind k);

// One DVFS operating point of a retrieval node: its clock and the node's power when busy and
// when idle at that clock (W).
struct FreqLevel {
  double ghz = 0.0, busy_w = 0.0, idle_w = 0.0;
};

struct StageSpec {
  std::string name;
  StageKind kind = StageKind::kHost;
  std::vector<std::string> after;  // predecessors (fan-in: all must finish)
  std::vector<uint32_t> preds;     // their indices in AppSpec::stages
  uint64_t items = 1;              // work items one request brings to the stage (fan-out)
  double probability = 1.0;        // chance that a request runs the stage at all
  uint32_t servers = 1;            // parallel servers: replicas (model), cores (host), copies
  uint32_t max_batch = 1;          // items per call (model, exact retrieval, retrieval batches)
  double batch_timeout_s = 0.0;    // wait for a fuller batch at most this long (0: no wait)
  bool exponential = false;        // service times exponential with the stage's mean (tests)

  // model (and exact retrieval): where it runs.
  std::string arch;    // preset name or YAML (resolved path)
  std::string device;  // roofline device instead of the chip
  std::string workload;
  WorkloadParams params;  // phase, prompt_len, context_len (batch set per call)
  uint32_t repeat = 1;    // sequential calls per batch (decode steps)
  // phase generate: a prefill of prompt_len, then output_tokens decode steps (Eq. A1).
  uint32_t output_tokens = 0;

  // host: one item costs cost_s of one core.
  double cost_s = 0.0;

  // retrieval
  std::string algorithm;  // exact | ivf | hnsw | hierarchical
  uint64_t vectors = 0, dim = 0;
  double code_bytes = 1.0;  // bytes per stored dimension (8-bit scalar quantization: 1)
  uint32_t nodes = 1;       // hosts the datastore is split across (ivf, hnsw, hierarchical)
  uint32_t cores_per_node = 1;
  double scan_gb_s_per_core = 0.0;  // code bytes one core compares per second at max clock
  uint64_t nlist = 0;               // IVF lists per node (0: sqrt(vectors per node))
  uint32_t nprobe = 0;              // ivf
  uint32_t sample_nprobe = 0, deep_nprobe = 0, clusters_searched = 1;  // hierarchical
  uint32_t ef_search = 0, hnsw_m = 0;                                  // hnsw
  std::vector<FreqLevel> freqs;  // DVFS levels of a node, ascending clock
  double freq_ghz = 0.0;         // the clock the nodes run at (0: the highest level)
  double clock_bound = 1.0;      // share of the search time that scales with 1/clock (Eq. A8)
  uint64_t scan_chunk = 0;       // exact: vectors simulated per engine run (linear beyond)
};

// Host CPUs of host stages: power and embodied carbon per core, from a baseline device.
struct HostSpec {
  std::string device = "haswell";  // workloads/devices name or YAML
  uint32_t cores_per_device = 18;  // cores of that device (Haswell E5-2699 v3: 18)
};

struct AppSpec {
  std::string name, paper, description, file;
  std::vector<std::string> assumptions;
  HostSpec host;
  std::string carbon_arch = "tpu-v1";  // whose carbon block (grid, PUE, lifetime) prices hosts
  std::vector<StageSpec> stages;       // in topological order
  std::vector<std::vector<uint32_t>> succs;
  std::vector<uint32_t> sinks;  // stages nothing depends on
};

// Loads an application by name (workloads/apps/NAME.yaml) or path. Throws InputError naming the
// file and the key.
AppSpec load_app(const std::string& name_or_path);
AppSpec parse_app(const std::string& yaml_text, const std::string& file);

// Ranges, one definition (the loader and the CLI check the same).
constexpr uint32_t kMaxServers = 1000000;
constexpr uint32_t kMaxBatch = 65536;
constexpr uint64_t kMaxItems = 1000000;
constexpr uint32_t kMaxStages = 256;

}  // namespace tpusim::app

// tpusim._tpusim: the library behind the Python package (python/tpusim/__init__.py), the same
// calls the CLI makes. Reports cross as Python objects (nlohmann::json -> dict/list/scalars);
// InputError becomes tpusim.InputError with the library's message (file, key, allowed range);
// every simulation runs with the GIL released, so threads of one interpreter run in parallel.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "models/config.h"
#include "models/data_files.h"
#include "models/errors.h"
#include "sim/compiler/lowering.h"
#include "sim/compiler/workload.h"
#include "sim/engines/engine.h"
#include "sim/isa/assembler.h"
#include "sim/isa/isa.h"
#include "sim/report/carbon_report.h"
#include "sim/studies/compare/compare.h"
#include "sim/studies/run/run_workload.h"
#include "sim/studies/serve/serve_study.h"
#include "sim/studies/sweep/sweep.h"

namespace py = pybind11;
using nlohmann::json;

namespace tpusim {

namespace {

py::object to_py(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return py::none();
    case json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case json::value_t::number_float:
      return py::float_(j.get<double>());
    case json::value_t::string:
      return py::str(j.get<std::string>());
    case json::value_t::array: {
      py::list l;
      for (const json& e : j) l.append(to_py(e));
      return std::move(l);
    }
    case json::value_t::object: {
      py::dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d[py::str(it.key())] = to_py(it.value());
      return std::move(d);
    }
    default:
      return py::none();
  }
}

// A workload: YAML text (built from layers in Python) or a name or path.
Workload workload_of(const std::string& name_or_path, const std::string& yaml_text,
                     const WorkloadParams& params) {
  if (!yaml_text.empty()) return parse_workload(yaml_text, name_or_path, params);
  return load_workload(name_or_path, params);
}

WorkloadParams params_of(uint64_t batch, const std::string& phase, uint64_t prompt_len,
                         uint64_t context_len) {
  WorkloadParams p;
  p.batch = batch;
  p.phase = phase;
  p.prompt_len = prompt_len;
  p.context_len = context_len;
  return p;
}

// One lowered segment as the Python side sees it.
struct PySegment {
  std::string group;
  uint64_t repeat = 1;
  Program program;
  std::vector<uint32_t> layer_of;
};

}  // namespace

}  // namespace tpusim

PYBIND11_MODULE(_tpusim, m) {
  using namespace tpusim;
  m.doc() = "tpusim's C++ library (use the tpusim package, not this module)";
  static py::exception<InputError> input_error(m, "InputError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      input_error(e.what());
    }
  });

  m.def("version", [] { return std::string(TPUSIM_VERSION); });
  m.def("data_root", &data_root);
  m.def("list_archs", &list_arch_presets);
  m.def("list_workloads", [] {
    py::list out;
    for (const WorkloadEntry& e : list_workloads()) {
      py::dict d;
      d["name"] = e.name;
      d["paper"] = e.paper;
      d["description"] = e.description;
      out.append(d);
    }
    return out;
  });
  m.def("engine_modes", &engine_modes);

  // The resolved arch of YAML text read as if from `file` (a `base:` overlay or a whole arch).
  m.def("resolve_arch", [](const std::string& yaml_text, const std::string& file) {
    return to_py(arch_json(parse_config(yaml_text, file)));
  });

  m.def(
      "run",
      [](const std::string& arch_yaml, const std::string& arch_file, const std::string& workload,
         const std::string& workload_yaml, uint64_t batch, const std::string& phase,
         uint64_t prompt_len, uint64_t context_len, const std::string& mode, bool timing_only,
         bool strict_capacity, uint64_t seed, bool steady,
         std::function<void(const std::string&, uint64_t, uint64_t)> progress,
         std::function<void(const std::string&)> warn) {
        json rep;
        std::unique_ptr<py::error_already_set> failed;
        {
          py::gil_scoped_release release;
          const TpuConfig cfg = parse_config(arch_yaml, arch_file);
          const Workload wl = workload_of(workload, workload_yaml,
                                          params_of(batch, phase, prompt_len, context_len));
          WorkloadRunOptions opt;
          opt.mode = mode;
          opt.timing_only = timing_only;
          opt.strict_capacity = strict_capacity;
          opt.seed = seed;
          opt.steady = steady;
          // Python callbacks run with the GIL held (pybind11's function wrapper takes it). An
          // exception of the progress callback must not cross the engines (the SystemC kernel):
          // it is kept, the callback not called again, and raised once the run is over.
          if (progress)
            opt.progress = [&](const RunProgress& p) {
              if (failed) return;
              try {
                progress(p.stage, p.done_cycles, p.total_cycles);
              } catch (py::error_already_set& e) {
                failed = std::make_unique<py::error_already_set>(std::move(e));
              }
            };
          if (warn) opt.warn = [&](const std::string& w) { warn(w); };
          rep = run_workload_report(cfg, wl, opt);
          // What `tpusim run` adds to every report (no deployment given: qps 0, years 0).
          add_carbon_blocks(rep, cfg, DeploymentOptions{});
        }
        if (failed) throw std::move(*failed);
        return to_py(rep);
      },
      py::arg("arch_yaml"), py::arg("arch_file"), py::arg("workload"), py::arg("workload_yaml"),
      py::arg("batch"), py::arg("phase"), py::arg("prompt_len"), py::arg("context_len"),
      py::arg("mode"), py::arg("timing_only"), py::arg("strict_capacity"), py::arg("seed"),
      py::arg("steady"), py::arg("progress"), py::arg("warn"));

  m.def("compare", [](const std::string& arch_yaml, const std::string& arch_file,
                      const std::string& workload, uint64_t batch, const std::string& phase,
                      uint64_t prompt_len, uint64_t context_len, const std::string& baselines) {
    json rep;
    {
      py::gil_scoped_release release;
      const TpuConfig cfg = parse_config(arch_yaml, arch_file);
      CompareOptions opt;
      opt.baselines = baselines;
      rep = compare_report(cfg, workload, params_of(batch, phase, prompt_len, context_len), opt);
    }
    return to_py(rep);
  });

  py::class_<serve::ServeStudyOptions>(m, "ServeOptions")
      .def(py::init<>())
      .def_readwrite("arch", &serve::ServeStudyOptions::arch)
      .def_readwrite("model", &serve::ServeStudyOptions::model)
      .def_readwrite("trace", &serve::ServeStudyOptions::trace)
      .def_readwrite("requests", &serve::ServeStudyOptions::requests)
      .def_readwrite("rates", &serve::ServeStudyOptions::rates)
      .def_readwrite("seed", &serve::ServeStudyOptions::seed)
      .def_readwrite("arrival", &serve::ServeStudyOptions::arrival)
      .def_readwrite("cv", &serve::ServeStudyOptions::cv)
      .def_readwrite("scheduler", &serve::ServeStudyOptions::scheduler)
      .def_readwrite("slo_ttft", &serve::ServeStudyOptions::slo_ttft)
      .def_readwrite("slo_tpot", &serve::ServeStudyOptions::slo_tpot)
      .def_readwrite("slo_target", &serve::ServeStudyOptions::slo_target)
      .def_readwrite("max_batch", &serve::ServeStudyOptions::max_batch)
      .def_readwrite("max_batch_tokens", &serve::ServeStudyOptions::max_batch_tokens)
      .def_readwrite("block_size", &serve::ServeStudyOptions::block_size)
      .def_readwrite("preemption", &serve::ServeStudyOptions::preemption)
      .def_readwrite("reserve", &serve::ServeStudyOptions::reserve)
      .def_readwrite("swap_space_gib", &serve::ServeStudyOptions::swap_space_gib)
      .def_readwrite("paged_attention_overhead",
                     &serve::ServeStudyOptions::paged_attention_overhead)
      .def_readwrite("kv_dtype", &serve::ServeStudyOptions::kv_dtype)
      .def_readwrite("causal_prefill", &serve::ServeStudyOptions::causal_prefill)
      .def_readwrite("samples", &serve::ServeStudyOptions::samples)
      .def_readwrite("beam_width", &serve::ServeStudyOptions::beam_width)
      .def_readwrite("shared_prefix", &serve::ServeStudyOptions::shared_prefix)
      .def_readwrite("kv_capacity_tokens", &serve::ServeStudyOptions::kv_capacity_tokens)
      .def_readwrite("device", &serve::ServeStudyOptions::device)
      .def_readwrite("device_dtype", &serve::ServeStudyOptions::device_dtype)
      .def_readwrite("kv_link_gb_s", &serve::ServeStudyOptions::kv_link_gb_s)
      .def_readwrite("lora", &serve::ServeStudyOptions::lora)
      .def_readwrite("lora_adapters", &serve::ServeStudyOptions::lora_adapters)
      .def_readwrite("lora_rank", &serve::ServeStudyOptions::lora_rank)
      .def_readwrite("lora_packed", &serve::ServeStudyOptions::lora_packed)
      .def_readwrite("chunked_prefill", &serve::ServeStudyOptions::chunked_prefill)
      .def_readwrite("lora_alpha", &serve::ServeStudyOptions::lora_alpha)
      .def_readwrite("bucket", &serve::ServeStudyOptions::bucket)
      .def_readwrite("tp", &serve::ServeStudyOptions::tp)
      .def_readwrite("pp", &serve::ServeStudyOptions::pp)
      .def_readwrite("collective_bytes", &serve::ServeStudyOptions::collective_bytes)
      .def_readwrite("per_request", &serve::ServeStudyOptions::per_request);

  m.def("serve", [](const serve::ServeStudyOptions& opt,
                    std::function<void(py::object, double, const std::string&)> on_rate) {
    serve::ServeStudy st;
    {
      py::gil_scoped_release release;
      serve::RateDone done;
      if (on_rate)
        done = [&](const json& summary, double wall_s, const std::string& setting) {
          py::gil_scoped_acquire acquire;  // to_py builds Python objects
          on_rate(to_py(summary), wall_s, setting);
        };
      st = serve::run_serve_study(opt, done);
    }
    py::dict d;
    d["report"] = to_py(st.report);
    d["csv"] = st.csv;
    d["requests_csv"] = st.requests_csv;
    return d;
  });

  m.def("sweep", [](const std::string& spec_path, const std::string& out_dir, unsigned jobs,
                    std::function<void(size_t, size_t, size_t, double)> progress) {
    SweepOutcome o;
    {
      py::gil_scoped_release release;
      const SweepSpec spec = load_sweep_spec(spec_path);
      SweepOptions opt;
      opt.out_dir = out_dir;
      opt.jobs = jobs;
      if (progress)
        opt.on_progress = [&](const SweepProgress& p) {
          progress(p.points_done, p.points, p.failed, p.eta_s);
        };
      o = run_sweep(spec, opt);
    }
    py::dict d;
    d["total"] = o.total;
    d["reused"] = o.reused;
    d["ran"] = o.ran;
    d["failed"] = o.failed;
    d["skipped"] = o.skipped;
    return d;
  });

  py::class_<Instruction>(m, "Instruction")
      .def_property_readonly("mnemonic", [](const Instruction& in) { return mnemonic(in.op); })
      .def_readonly("flags", &Instruction::flags)
      .def_readonly("d", &Instruction::d)
      .def_readonly("a", &Instruction::a)
      .def_readonly("b", &Instruction::b)
      .def_readonly("c", &Instruction::c)
      .def("__str__", [](const Instruction& in) { return disassemble(in); })
      .def("__repr__",
           [](const Instruction& in) { return "<Instruction " + disassemble(in) + ">"; });

  py::class_<PySegment>(m, "Segment")
      .def_readonly("group", &PySegment::group)
      .def_readonly("repeat", &PySegment::repeat)
      .def_readonly("layer_of", &PySegment::layer_of)
      .def_property_readonly("name", [](const PySegment& s) { return s.program.name; })
      .def_property_readonly("instructions", [](const PySegment& s) { return s.program.code; })
      .def("__len__", [](const PySegment& s) { return s.program.code.size(); })
      .def("disassemble", [](const PySegment& s) { return disassemble(s.program); })
      .def("binary", [](const PySegment& s) {
        const std::vector<uint8_t> b = to_binary(s.program);
        return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
      });

  m.def("lower", [](const std::string& arch_yaml, const std::string& arch_file,
                    const std::string& workload, const std::string& workload_yaml, uint64_t batch,
                    const std::string& phase, uint64_t prompt_len, uint64_t context_len,
                    bool values, uint64_t batches) {
    std::vector<PySegment> segs;
    std::vector<LayerInfo> layers;
    std::string name;
    uint64_t useful_macs = 0;
    {
      py::gil_scoped_release release;
      const TpuConfig cfg = parse_config(arch_yaml, arch_file);
      const Workload wl =
          workload_of(workload, workload_yaml, params_of(batch, phase, prompt_len, context_len));
      LowerOptions lo;
      lo.values = values;
      lo.batches = batches;
      LoweredProgram lp = lower(cfg, wl, lo);
      name = lp.workload;
      useful_macs = lp.useful_macs();
      layers = lp.layers;
      for (Segment& s : lp.segments)
        segs.push_back({s.group, s.repeat, std::move(s.program), std::move(s.layer_of)});
    }
    py::list ls;
    for (const LayerInfo& l : layers) {
      py::dict d;
      d["name"] = l.name;
      d["group"] = l.group;
      d["kind"] = layer_kind_name(l.kind);
      d["repeat"] = l.repeat;
      d["useful_macs"] = l.useful_macs;
      d["mac_slots"] = l.mac_slots;
      d["weight_bytes"] = l.weight_bytes;
      d["weight_tile_loads"] = l.weight_tile_loads;
      d["chunks"] = l.chunks;
      ls.append(d);
    }
    py::dict d;
    d["workload"] = name;
    d["useful_macs"] = useful_macs;
    d["layers"] = ls;
    d["segments"] = segs;
    return d;
  });
}

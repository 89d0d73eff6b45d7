// `tpusim import-scalesim FILE.csv` and `tpusim import-onnx MODEL.onnx`: other formats to
// workload YAML.
#include <memory>

#include <CLI/CLI.hpp>

#include "sim/cli/commands.h"
#include "sim/cli/options.h"
#include "sim/compiler/import/onnx_import.h"
#include "sim/compiler/import/scalesim_import.h"

namespace tpusim::cli {

namespace {

struct ImportArgs {
  std::string file;
  uint32_t batch = 0;
  TextOutputArgs out;
};

}  // namespace

Command add_import_scalesim_command(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  a->batch = 1;
  auto* c =
      app.add_subcommand("import-scalesim", "Convert a SCALE-Sim topology CSV to a workload YAML");
  c->add_option("file", a->file, "SCALE-Sim topology CSV")->required();
  add_batch_option(c, a->batch, "Batch size");
  add_text_output_options(c, a->out, "Output YAML");
  return {c, [a] {
            emit_text(a->out, import_scalesim_file(a->file, a->batch));
            return 0;
          }};
}

Command add_import_onnx_command(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  auto* c = app.add_subcommand("import-onnx", "Convert an ONNX model to a workload YAML");
  c->add_option("model", a->file, "ONNX model (.onnx)")->required();
  add_batch_option(c, a->batch, "Batch size (default: the model's, else 1)");
  add_text_output_options(c, a->out, "Output YAML");
  return {c, [a] {
            emit_text(a->out, import_onnx(a->file, a->batch));
            return 0;
          }};
}

}  // namespace tpusim::cli

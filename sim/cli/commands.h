// The subcommands of `tpusim` (DESIGN.md, "CLI contract"), one cmd_<name>.cpp each. A command's
// add_ function declares its options on `app` (bound to storage the command owns) and returns
// what runs it; main.cpp lists them once, parses, runs the one given and maps errors to exit
// codes (0 ok, 2 bad input, 1 internal failure). Commands print; the library never does.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace tpusim::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the exit code; throws InputError for bad input
};

Command add_run_command(CLI::App& app);              // cmd_run.cpp
Command add_lower_command(CLI::App& app);            // cmd_lower.cpp
Command add_list_command(CLI::App& app);             // cmd_list.cpp
Command add_asm_command(CLI::App& app);              // cmd_asm.cpp
Command add_disasm_command(CLI::App& app);           // cmd_asm.cpp
Command add_compare_command(CLI::App& app);          // cmd_compare.cpp
Command add_serve_command(CLI::App& app);            // cmd_serve.cpp
Command add_app_command(CLI::App& app);              // cmd_app.cpp
Command add_sweep_command(CLI::App& app);            // cmd_sweep.cpp
Command add_plan_command(CLI::App& app);             // cmd_plan.cpp
Command add_scalesim_command(CLI::App& app);         // cmd_scalesim.cpp
Command add_import_scalesim_command(CLI::App& app);  // cmd_import.cpp
Command add_import_onnx_command(CLI::App& app);      // cmd_import.cpp
Command add_report_command(CLI::App& app);           // cmd_report.cpp
Command add_cosim_command(CLI::App& app);            // cmd_cosim.cpp (builds with the cosim engine)

}  // namespace tpusim::cli

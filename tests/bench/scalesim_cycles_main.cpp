// tpusim_scalesim_cycles: `tpusim scalesim-cycles` as a standalone tool (the same CLI glue,
// sim/scalesim_compat.h), for the scalesim-labelled test and scripts/bench/ when the main CLI
// was built without the subcommand.
#include <iostream>

#include <CLI/CLI.hpp>

#include "models/errors.h"
#include "sim/scalesim_compat.h"

int main(int argc, char** argv) {
  CLI::App app{"SCALE-Sim-compatible cycles"};
  app.require_subcommand(1);
  tpusim::ScaleSimArgs args;
  tpusim::add_scalesim_command(app, args);
  CLI11_PARSE(app, argc, argv);
  try {
    return tpusim::cmd_scalesim(args, std::cout);
  } catch (const tpusim::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}

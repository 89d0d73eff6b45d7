// `tpusim sweep` as a stand-alone binary with the same arguments and exit codes
// (`sweep_driver sweep SPEC --out DIR ...`): the tests and scripts/ray_sweep.py --tpusim use it,
// so they do not depend on the CLI's wiring.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "models/errors.h"
#include "sim/sweep_cli.h"

int main(int argc, char** argv) {
  using namespace tpusim;
  CLI::App app{"sweep_driver: tpusim sweep on its own"};
  app.require_subcommand(1);
  SweepArgs args;
  add_sweep_command(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    return cmd_sweep(args, std::cout);
  } catch (const InputError& e) {
    fmt::print(stderr, "tpusim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
}

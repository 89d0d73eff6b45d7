// Stand-alone `serve` driver for scripts/serve_study.sh while sim/main.cpp has no `serve`
// subcommand yet: the same add_serve_command + cmd_serve that main.cpp wires.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "models/errors.h"
#include "sim/serve_cli.h"

int main(int argc, char** argv) {
  CLI::App app{"tpusim serve driver"};
  app.require_subcommand(1);
  tpusim::ServeArgs sa;
  tpusim::add_serve_command(app, sa);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    return tpusim::cmd_serve(sa, std::cout);
  } catch (const tpusim::InputError& e) {
    fmt::print(stderr, "tpusim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tpusim: internal error: {}\n", e.what());
    return 1;
  }
}

# Design-space sweeps (issue 9): the spec, point expansion, the resumable thread-pool runner and
# `tpusim sweep` (cmd_sweep, wired by main.cpp). scripts/ray_sweep.py runs the same points on Ray
# through `tpusim sweep --only-point`; tests/sweep tests both.
add_library(tpusim_sweep STATIC
  sweep.cpp
  sweep_cli.cpp
)
target_include_directories(tpusim_sweep PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_sweep PRIVATE ${TPUSIM_WARNINGS})
find_package(Threads REQUIRED)
target_link_libraries(tpusim_sweep PUBLIC tpusim_driver tpusim_multichip Threads::Threads PRIVATE CLI11::CLI11)

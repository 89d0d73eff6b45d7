# Multi-chip inference (issue 13): tensor x pipeline parallelism over the interconnect model,
# `tpusim plan` and the --chips/--tp/--pp options (cmd_plan etc., wired by main.cpp).
add_library(tpusim_multichip STATIC
  multichip.cpp
  multichip_cli.cpp
)
target_include_directories(tpusim_multichip PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_multichip PRIVATE ${TPUSIM_WARNINGS})
target_link_libraries(tpusim_multichip PUBLIC tpusim_driver tpusim_lowering PRIVATE CLI11::CLI11)

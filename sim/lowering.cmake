# Lowering and the workload library (issue 5): workloads as data -> ISA programs.
add_library(tpusim_lowering STATIC
  workload.cpp
  lowering.cpp
  lowering_cli.cpp
  import_scalesim.cpp
  import_onnx.cpp
)
target_include_directories(tpusim_lowering PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_lowering PRIVATE ${TPUSIM_WARNINGS})
target_link_libraries(tpusim_lowering PUBLIC tpusim_core)


# LLM serving on the simulated accelerator (issue 10): traces, per-iteration cost model,
# schedulers, metrics and the `tpusim serve` entry point (cmd_serve, wired by main.cpp).
add_library(tpusim_serve STATIC
  serve/trace.cpp
  serve/cost_model.cpp
  serve/kv_cache.cpp
  serve/scheduler.cpp
  serve/metrics.cpp
  serve_cli.cpp
)
target_include_directories(tpusim_serve PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_serve PRIVATE ${TPUSIM_WARNINGS})
target_link_libraries(tpusim_serve PUBLIC tpusim_lowering tpusim_multichip PRIVATE CLI11::CLI11)

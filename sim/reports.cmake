# The reports of issue 7 beyond `run --json`: per-layer CSV, carbon per query and deployment,
# --grid/--dvfs overrides, the Chrome/Perfetto trace, and `tpusim report DIR` (scripts/report.py).
# Tested by tests/reports.
add_library(tpusim_reports STATIC
  report_extra.cpp
  trace.cpp
)
target_include_directories(tpusim_reports PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_reports PRIVATE ${TPUSIM_WARNINGS})
target_link_libraries(tpusim_reports PUBLIC tpusim_lowering)

# The CLI (sim/main.cpp) calls into it: --csv, --trace, --qps/--years, --grid, --dvfs, `report`.
target_link_libraries(tpusim PRIVATE tpusim_reports)

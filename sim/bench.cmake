# Benchmarks against the peers (issue 11): the SCALE-Sim-compatible timing model and its CLI
# glue (`tpusim scalesim-cycles`). The benchmark programs themselves live in bench/.
add_library(tpusim_scalesim STATIC scalesim_compat.cpp)
target_include_directories(tpusim_scalesim PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_scalesim PRIVATE ${TPUSIM_WARNINGS})
target_link_libraries(tpusim_scalesim PUBLIC tpusim_lowering CLI11::CLI11)
target_link_libraries(tpusim PRIVATE tpusim_scalesim)

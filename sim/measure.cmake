# Measured baselines (issue 8): the CPU measurement library and, when nvcc is present, the GPU
# GEMM benchmark of scripts/gpu/.
#
# oneDNN (dnnl_FOUND, TPUSIM_DNNL_*) is found in sim/CMakeLists.txt, where tpusim_core's value
# GEMM uses it too. Without it the library builds with Eigen only and measure_cpu.h's
# have_onednn() returns false.
add_library(tpusim_measure STATIC measure_cpu.cpp)
target_include_directories(tpusim_measure PUBLIC ${CMAKE_SOURCE_DIR})
target_compile_options(tpusim_measure PRIVATE ${TPUSIM_WARNINGS})
target_link_libraries(tpusim_measure PUBLIC tpusim_core Eigen3::Eigen fmt::fmt)
if(dnnl_FOUND)
  message(STATUS "tpusim_measure: oneDNN found (${TPUSIM_DNNL_LIBRARY}), measuring onednn and eigen")
  target_compile_definitions(tpusim_measure PUBLIC TPUSIM_HAVE_DNNL=1)
  target_include_directories(tpusim_measure PRIVATE ${TPUSIM_DNNL_INCLUDE_DIR})
  target_link_libraries(tpusim_measure PRIVATE ${TPUSIM_DNNL_LIBRARY})
else()
  message(STATUS "tpusim_measure: oneDNN not found (apt-get install libdnnl-dev), "
                 "building the CPU measurement with Eigen only")
endif()

add_subdirectory(${CMAKE_SOURCE_DIR}/scripts/gpu ${CMAKE_BINARY_DIR}/scripts/gpu)

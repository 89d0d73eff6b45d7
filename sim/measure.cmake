# Measured baselines (issue 8): the CPU measurement library and, when nvcc is present, the GPU
# GEMM benchmark of scripts/gpu/.
#
# oneDNN is optional (Debian: libdnnl-dev). Found by header and library rather than by its CMake
# config, which hard-requires OpenCL headers for its GPU runtime that the CPU path never uses.
# Without it the library builds with Eigen only and measure_cpu.h's have_onednn() returns false.
find_path(TPUSIM_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(TPUSIM_DNNL_LIBRARY NAMES dnnl)
if(TPUSIM_DNNL_INCLUDE_DIR AND TPUSIM_DNNL_LIBRARY)
  set(dnnl_FOUND TRUE)
else()
  set(dnnl_FOUND FALSE)
endif()
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

// Catch2 main of baselines_tests (issue 8: roofline baseline devices, measured CPU, GPU bench).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

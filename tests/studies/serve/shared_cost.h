// One CostModel (opt-13b on tpu-llm) shared by the serve tests, so each shape is simulated once.
#pragma once

#include "models/config.h"
#include "sim/studies/serve/cost_model.h"

inline tpusim::serve::CostModel& shared_cost() {
  static tpusim::serve::CostModel cost(tpusim::load_config("tpu-llm"), "opt-13b");
  return cost;
}

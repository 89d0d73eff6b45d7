// Orca's pipelining across iterations (Yu et al., OSDI 2022, Section 4.3 "pipeline parallelism"
// with iteration-level scheduling): on an instance of pp pipeline stages, up to pp batches are in
// flight at once, each in a different stage, so pp adds throughput and not only capacity. The
// scheduler (continuous with SchedulerOptions::pipeline) keeps pp batch slots; when a slot's
// iteration has left the last stage, its tokens are emitted, finished requests leave, and the
// slot takes waiting requests FCFS (a request is in at most one slot: Orca schedules a request
// again only after its previous iteration returns) within max_batch, max_batch_tokens and its
// contiguous K/V reservation (as the continuous scheduler). An iteration's time T (CostModel:
// one shard over every stage plus the collectives and stage links) is split evenly over the pp
// stages (the stages are weight balanced); stage s of an iteration starts when stage s - 1 of it
// is done and stage s has finished the previous batch.
#pragma once

#include <vector>

#include "sim/studies/serve/cost_model.h"
#include "sim/studies/serve/request_trace.h"
#include "sim/studies/serve/scheduler.h"

namespace tpusim::serve {

// Runs `trace` (sorted, validated by simulate) on `cost` (pp = its CostOptions::pp slots) and
// fills `out` (requests, generated_tokens, mean / max running) and `chip`. out.kv_capacity_tokens
// must be set. Throws InputError for a request that does not fit the K/V memory alone.
void run_orca_pipelined(const std::vector<Request>& trace, CostModel& cost,
                        const SchedulerOptions& opt, ChipUsage& chip, ScheduleResult& out);

}  // namespace tpusim::serve

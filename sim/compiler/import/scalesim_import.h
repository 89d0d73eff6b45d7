// SCALE-Sim topology CSV -> workload YAML (`tpusim import-scalesim FILE`).
#pragma once

#include <string>

namespace tpusim {

// Converts a SCALE-Sim topology file (header "Layer name, IFMAP Height, IFMAP Width, Filter
// Height, Filter Width, Channels, Num Filter, Strides", one conv layer per row; a 1x1 filter on a
// 1x1 map is a FC layer) into workload YAML text. Layers are independent in SCALE-Sim, so each
// becomes its own group whose input the host provides (rows = output positions of the layer).
// Padding is taken as 0 ("valid"), as SCALE-Sim computes output sizes. Throws InputError naming
// the file, line and column on malformed input.
std::string import_scalesim(const std::string& csv_text, const std::string& file, uint64_t batch = 1);
std::string import_scalesim_file(const std::string& path, uint64_t batch = 1);

}  // namespace tpusim

#include "sim/compiler/import/scalesim_import.h"

#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim {

namespace {
std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
}  // namespace

std::string import_scalesim(const std::string& csv_text, const std::string& file, uint64_t batch) {
  check_utf8_text(csv_text, file);
  std::istringstream in(csv_text);
  std::string line;
  size_t lineno = 0;
  bool header = true;
  std::string out = fmt::format(
      "# Imported from SCALE-Sim topology {} by `tpusim import-scalesim`.\nname: {}\npaper: \"SCALE-Sim "
      "topology {}\"\nbatch: {}\nassumptions:\n  - \"Each SCALE-Sim layer is independent: its input comes "
      "from the host\"\n  - \"Padding 0 (valid), as SCALE-Sim sizes its outputs\"\nlayers:\n",
      file, "imported", file, batch);
  size_t layers = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) cols.push_back(trim(c));
    while (!cols.empty() && cols.back().empty()) cols.pop_back();
    if (header) {
      header = false;
      if (cols.empty() || cols[0].find("Layer") == std::string::npos)
        throw InputError(fmt::format("{}:{}: expected the SCALE-Sim header 'Layer name, IFMAP Height, ...'", file, lineno));
      continue;
    }
    if (cols.size() < 8)
      throw InputError(fmt::format("{}:{}: expected 8 columns (name, ifmap h, ifmap w, filter h, filter w, "
                                   "channels, filters, strides), got {}", file, lineno, cols.size()));
    uint64_t v[7];
    for (int i = 0; i < 7; ++i) {
      if (!parse_uint_scalar(cols[i + 1], v[i]) || v[i] == 0 || v[i] > (1u << 20))
        throw InputError(fmt::format("{}:{}: column {}: '{}' is not an integer in 1..{}", file, lineno, i + 2,
                                     cols[i + 1], 1u << 20));
    }
    const uint64_t ih = v[0], iw = v[1], fh = v[2], fw = v[3], ch = v[4], nf = v[5], st = v[6];
    if (ih * iw > (uint64_t(1) << 32))
      throw InputError(fmt::format("{}:{}: ifmap {}x{} has more than 2^32 pixels (too large to simulate)", file,
                                   lineno, ih, iw));
    if (fh > ih || fw > iw)
      throw InputError(fmt::format("{}:{}: filter {}x{} larger than the ifmap {}x{}", file, lineno, fh, fw, ih, iw));
    std::string name = cols[0];
    for (char& ch2 : name)
      if (!isalnum(uint8_t(ch2)) && ch2 != '_' && ch2 != '-') ch2 = '_';
    out += fmt::format("  - repeat: 1\n    name: {}\n    layers:\n", name.empty() ? fmt::format("layer{}", layers) : name);
    out += fmt::format("      - {{type: embedding, name: {}_in, features: {}, rows_per_item: {}}}\n", name, ch, ih * iw);
    out += fmt::format("      - {{type: conv2d, name: {}, in_h: {}, in_w: {}, out_c: {}, kernel_h: {}, kernel_w: {}, "
                       "stride: {}, pad: 0, act: relu}}\n", name, ih, iw, nf, fh, fw, st);
    ++layers;
  }
  if (layers == 0) throw InputError(fmt::format("{}: no layers", file));
  return out;
}

std::string import_scalesim_file(const std::string& path, uint64_t batch) {
  return import_scalesim(read_input_file(path), path, batch);
}

}  // namespace tpusim

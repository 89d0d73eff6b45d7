#include "sim/isa/assembler.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "models/errors.h"
#include "models/yaml_reader.h"

namespace tpusim {

namespace {

constexpr size_t kMaxSourceBytes = size_t(256) << 20;
constexpr uint64_t kMaxRandomCount = uint64_t(1) << 32;

struct Line {
  std::string file;
  uint32_t number;
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("{}:{}: {}", file, number, what));
  }
};

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string tok;
  while (in >> tok) out.push_back(tok);
  return out;
}

uint64_t parse_u(const Line& ln, const std::string& key, const std::string& v, uint64_t max) {
  uint64_t x = 0;
  if (!parse_uint_scalar(v, x))
    ln.fail(fmt::format("{}: expected an unsigned integer, found '{}'", key, v));
  if (x > max) ln.fail(fmt::format("{}: {} exceeds the maximum {}", key, x, max));
  return x;
}

int64_t parse_s(const Line& ln, const std::string& key, const std::string& v, int64_t lo,
                int64_t hi) {
  bool neg = !v.empty() && v[0] == '-';
  uint64_t m = 0;
  if (!parse_uint_scalar(neg ? v.substr(1) : v, m) || m > (uint64_t(1) << 40))
    ln.fail(fmt::format("{}: expected an integer, found '{}'", key, v));
  int64_t x = neg ? -int64_t(m) : int64_t(m);
  if (x < lo || x > hi) ln.fail(fmt::format("{}: {} is out of range [{}, {}]", key, x, lo, hi));
  return x;
}

// Unsigned fields of `v` separated by any of `seps` in order (e.g. "3x3/2x2" with "x/x"): exactly
// seps.size() + 1 of them, each 0..max.
std::vector<uint32_t> parse_fields(const Line& ln, const std::string& key, const std::string& v,
                                   const std::string& seps, uint64_t max, const char* form) {
  std::vector<uint32_t> out;
  size_t pos = 0;
  for (size_t i = 0; i <= seps.size(); ++i) {
    const size_t end = i < seps.size() ? v.find(seps[i], pos) : v.size();
    if (end == std::string::npos)
      ln.fail(fmt::format("setc: {}='{}' is not of the form {}", key, v, form));
    out.push_back(uint32_t(parse_u(ln, key, v.substr(pos, end - pos), max)));
    pos = end + 1;
  }
  return out;
}

// key=value operands plus bare words (flags).
struct Operands {
  std::map<std::string, std::string> kv;
  std::vector<std::string> words;
};

Operands parse_operands(const Line& ln, const std::vector<std::string>& toks, size_t from) {
  Operands ops;
  for (size_t i = from; i < toks.size(); ++i) {
    std::string t = toks[i];
    if (!t.empty() && t.back() == ',') t.pop_back();
    if (t.empty()) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      if (std::find(ops.words.begin(), ops.words.end(), t) != ops.words.end())
        ln.fail(fmt::format("'{}' given twice", t));
      ops.words.push_back(t);
    } else {
      std::string k = t.substr(0, eq), v = t.substr(eq + 1);
      if (k.empty() || v.empty())
        ln.fail(fmt::format("malformed operand '{}' (expected key=value)", t));
      if (ops.kv.count(k)) ln.fail(fmt::format("operand '{}' given twice", k));
      ops.kv[k] = v;
    }
  }
  return ops;
}

class OperandReader {
 public:
  OperandReader(const Line& ln, const std::string& mnem, Operands ops)
      : ln_(ln), mnem_(mnem), ops_(std::move(ops)) {}
  uint32_t u32(const std::string& k) { return uint32_t(parse_u(ln_, k, need(k), 0xFFFFFFFFull)); }
  uint64_t u64_max(const std::string& k, uint64_t max) { return parse_u(ln_, k, need(k), max); }
  std::string need(const std::string& k) {
    auto it = ops_.kv.find(k);
    if (it == ops_.kv.end()) ln_.fail(fmt::format("{}: missing operand {}=", mnem_, k));
    used_.push_back(k);
    return it->second;
  }
  bool opt(const std::string& k, std::string& v) {
    auto it = ops_.kv.find(k);
    if (it == ops_.kv.end()) return false;
    used_.push_back(k);
    v = it->second;
    return true;
  }
  bool flag(const std::string& w) {
    auto it = std::find(ops_.words.begin(), ops_.words.end(), w);
    if (it == ops_.words.end()) return false;
    used_words_.push_back(w);
    return true;
  }
  void done(const std::string& expected) {
    for (const auto& [k, v] : ops_.kv)
      if (std::find(used_.begin(), used_.end(), k) == used_.end())
        ln_.fail(fmt::format("{}: unknown operand '{}' (expected {})", mnem_, k, expected));
    for (const auto& w : ops_.words)
      if (std::find(used_words_.begin(), used_words_.end(), w) == used_words_.end())
        ln_.fail(fmt::format("{}: unknown word '{}' (expected {})", mnem_, w, expected));
  }
  const Operands& ops() const { return ops_; }

 private:
  const Line& ln_;
  std::string mnem_;
  Operands ops_;
  std::vector<std::string> used_, used_words_;
};

const char* kFnNames[] = {"none", "relu", "sigmoid", "tanh"};
const char* kPoolNames[] = {"none", "max", "avg"};
const char* kRoundNames[] = {"half_away", "half_up", "floor"};
const char* kUnitNames[] = {"host", "weights", "mxu", "act"};

Instruction parse_instruction(const Line& ln, const std::vector<std::string>& toks) {
  std::string m = toks[0];
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  Instruction in;
  if (m == "nop" || m == "halt") {
    in.op = m == "nop" ? Opcode::kNop : Opcode::kHalt;
    OperandReader r(ln, m, parse_operands(ln, toks, 1));
    r.done("no operands");
  } else if (m == "rhm" || m == "whm") {
    in.op = m == "rhm" ? Opcode::kReadHost : Opcode::kWriteHost;
    OperandReader r(ln, m, parse_operands(ln, toks, 1));
    in.a = r.u32("host");
    in.b = r.u32("ub");
    in.c = r.u32("n");
    r.done("host= ub= n=");
  } else if (m == "rw") {
    in.op = Opcode::kReadWeights;
    OperandReader r(ln, m, parse_operands(ln, toks, 1));
    in.a = r.u32("tile");
    in.c = r.u32("n");
    std::string mxu;
    if (r.opt("mxu", mxu)) in.d = uint16_t(parse_u(ln, "mxu", mxu, kMaxMxus - 1));
    r.done("tile= n= [mxu=M]");
  } else if (m == "mmc") {
    in.op = Opcode::kMatmul;
    OperandReader r(ln, m, parse_operands(ln, toks, 1));
    in.a = r.u32("ub");
    in.b = r.u32("acc");
    in.c = r.u32("b");
    if (r.flag("accumulate")) in.flags |= kFlagAccumulate;
    if (r.flag("switch")) in.flags |= kFlagSwitch;
    if (r.flag("chain")) in.flags |= kFlagChain;
    std::string mxu, fan;
    if (r.opt("mxu", mxu)) in.d = uint16_t(parse_u(ln, "mxu", mxu, kMaxMxus - 1));
    if (r.opt("fan", fan)) in.flags |= uint8_t(parse_u(ln, "fan", fan, kMaxMmcFan) << kMmcFanShift);
    r.done("ub= acc= b= [switch] [accumulate] [chain] [fan=F] [mxu=M]");
  } else if (m == "act") {
    in.op = Opcode::kActivate;
    OperandReader r(ln, m, parse_operands(ln, toks, 1));
    in.a = r.u32("acc");
    in.b = r.u32("ub");
    in.c = r.u32("n");
    std::string fn = "none", pool;
    r.opt("fn", fn);
    int f = -1;
    for (int i = 0; i < 4; ++i)
      if (fn == kFnNames[i]) f = i;
    if (f < 0) ln.fail(fmt::format("act: fn='{}' is not one of none, relu, sigmoid, tanh", fn));
    in.flags = uint8_t(f);
    std::string pool2d;
    if (r.opt("pool2d", pool2d)) {
      int p = -1;
      for (int i = 1; i < 3; ++i)
        if (pool2d == kPoolNames[i]) p = i;
      if (p < 0) ln.fail(fmt::format("act: pool2d='{}' must be max or avg", pool2d));
      in.flags |= uint8_t(p << 2) | kFlagPool2d;
      in.d = uint16_t(r.u64_max("out", 0xFFFF));
      if (r.opt("pool", pool)) ln.fail("act: give pool= (1-D) or pool2d= (2-D), not both");
    } else if (r.opt("pool", pool)) {
      auto colon = pool.find(':');
      std::string kind = pool.substr(0, colon);
      int p = -1;
      for (int i = 1; i < 3; ++i)
        if (kind == kPoolNames[i]) p = i;
      if (p < 0 || colon == std::string::npos)
        ln.fail(fmt::format("act: pool='{}' must be max:P or avg:P with P in 1,2,4,8,16", pool));
      uint64_t size = parse_u(ln, "pool size", pool.substr(colon + 1), 16);
      int lg = -1;
      for (int i = 0; i <= int(kMaxPoolLog2); ++i)
        if (size == (1u << i)) lg = i;
      if (lg < 0) ln.fail(fmt::format("act: pool size {} is not one of 1, 2, 4, 8, 16", size));
      in.flags |= uint8_t(p << 2);
      in.d = uint16_t(lg);
    }
    r.done("acc= ub= n= [fn=none|relu|sigmoid|tanh] [pool=max:P|avg:P | pool2d=max|avg out=M]");
  } else if (m == "setc") {
    in.op = Opcode::kSetConfig;
    Operands ops = parse_operands(ln, toks, 1);
    if (ops.kv.size() != 1 || !ops.words.empty())
      ln.fail(
          "setc: expected exactly one of mult=V, shift=V, round=half_away|half_up|floor, "
          "pool_in=HxW, pool_window=KHxKW/SHxSW, pool_pad=T,L,B,R, pool_recip=V");
    const auto& [k, v] = *ops.kv.begin();
    if (k == "mult") {
      in.a = uint32_t(ConfigReg::kMult);
      in.b = uint32_t(int32_t(parse_s(ln, "mult", v, INT32_MIN, INT32_MAX)));
    } else if (k == "shift") {
      in.a = uint32_t(ConfigReg::kShift);
      in.b = uint32_t(parse_u(ln, "shift", v, kMaxRequantShift));
    } else if (k == "round") {
      in.a = uint32_t(ConfigReg::kRound);
      int rm = -1;
      for (int i = 0; i < 3; ++i)
        if (v == kRoundNames[i]) rm = i;
      if (rm < 0) ln.fail(fmt::format("setc: round='{}' is not half_away, half_up or floor", v));
      in.b = uint32_t(rm);
    } else if (k == "pool_in") {
      const auto f = parse_fields(ln, k, v, "x", 0xFFFF, "HxW");
      in.a = uint32_t(ConfigReg::kPoolIn);
      in.b = f[1] | f[0] << 16;
    } else if (k == "pool_window") {
      const auto f = parse_fields(ln, k, v, "x/x", 0xFF, "KHxKW/SHxSW");
      in.a = uint32_t(ConfigReg::kPoolWindow);
      in.b = f[0] | f[1] << 8 | f[2] << 16 | f[3] << 24;
    } else if (k == "pool_pad") {
      const auto f = parse_fields(ln, k, v, ",,,", 0xFF, "T,L,B,R");
      in.a = uint32_t(ConfigReg::kPoolPad);
      in.b = f[0] | f[1] << 8 | f[2] << 16 | f[3] << 24;
    } else if (k == "pool_recip") {
      in.a = uint32_t(ConfigReg::kPoolRecip);
      in.b = uint32_t(parse_u(ln, k, v, kPoolRecipOne));
    } else {
      ln.fail(
          fmt::format("setc: unknown register '{}' (expected mult, shift, round, pool_in, "
                      "pool_window, pool_pad or pool_recip)",
                      k));
    }
  } else if (m == "sync") {
    in.op = Opcode::kSync;
    if (toks.size() != 2 && toks.size() != 3)
      ln.fail(
          "sync: expected one unit list and an optional pending=N, e.g. 'sync mxu,act', "
          "'sync mxu pending=2' or 'sync all'");
    std::string list = toks[1];
    if (!list.empty() && list.back() == ',' && toks.size() == 3) list.pop_back();
    if (toks.size() == 3) {
      OperandReader r(ln, m, parse_operands(ln, toks, 2));
      std::string v;
      if (!r.opt("pending", v)) ln.fail("sync: expected pending=N after the unit list");
      in.d = uint16_t(parse_u(ln, "pending", v, 0xFFFF));
      r.done("pending=N (0 .. 65535)");
    }
    if (list == "all") {
      in.flags = kUnitAll;
    } else {
      std::stringstream ss(list);
      std::string u;
      while (std::getline(ss, u, ',')) {
        int bit = -1;
        for (int i = 0; i < 4; ++i)
          if (u == kUnitNames[i]) bit = i;
        if (bit < 0)
          ln.fail(fmt::format("sync: unit '{}' is not one of host, weights, mxu, act, all", u));
        in.flags |= uint8_t(1u << bit);
      }
      if (in.flags == 0) ln.fail("sync: empty unit list");
    }
  } else {
    ln.fail(fmt::format(
        "unknown instruction '{}' (expected nop, halt, rhm, whm, rw, mmc, act, setc, sync)",
        toks[0]));
  }
  std::string err = check_encoding(in);
  if (!err.empty()) ln.fail(fmt::format("{}: {}", m, err));
  return in;
}

void parse_directive(const Line& ln, const std::vector<std::string>& toks, Program& prog) {
  const std::string& d = toks[0];
  if (d == ".host" || d == ".weights") {
    if (toks.size() < 3) ln.fail(fmt::format("{}: expected an address and at least one byte", d));
    uint64_t addr = parse_u(ln, "address", toks[1], 0xFFFFFFFFull);
    std::vector<int8_t> bytes;
    for (size_t i = 2; i < toks.size(); ++i) {
      std::string t = toks[i];
      if (!t.empty() && t.back() == ',') t.pop_back();
      bytes.push_back(int8_t(parse_s(ln, "byte", t, -128, 255)));
    }
    auto& images = d == ".host" ? prog.host_init : prog.weight_init;
    if (images.count(addr)) ln.fail(fmt::format("{} {}: address given twice", d, addr));
    images[addr] = std::move(bytes);
  } else if (d == ".random") {
    if (toks.size() != 5 || (toks[1] != "host" && toks[1] != "weights") ||
        toks[4].rfind("seed=", 0) != 0)
      ln.fail(".random: expected '.random host|weights ADDR COUNT seed=S'");
    Program::RandomInit r;
    r.weights = toks[1] == "weights";
    r.addr = parse_u(ln, "address", toks[2], 0xFFFFFFFFull);
    r.count = parse_u(ln, "count", toks[3], kMaxRandomCount);
    if (r.count == 0) ln.fail(".random: count must be >= 1");
    r.seed = parse_u(ln, "seed", toks[4].substr(5), UINT64_MAX);
    prog.random_init.push_back(r);
  } else if (d == ".name") {
    if (toks.size() != 2) ln.fail(".name: expected one word");
    prog.name = toks[1];
  } else {
    ln.fail(fmt::format("unknown directive '{}' (expected .host, .weights, .random, .name)", d));
  }
}

}  // namespace

void fill_random_bytes(int8_t* out, size_t n, uint64_t seed) {
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t k = 0; k < 8 && i + k < n; ++k) out[i + k] = int8_t(uint8_t(z >> (8 * k)));
  }
}

Program assemble(const std::string& text, const std::string& file) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t'))
      throw InputError(
          fmt::format("{}: byte 0x{:02x} at offset {} is not printable ASCII", file, c, i));
  }
  Program prog;
  prog.source_file = file;
  std::istringstream in(text);
  std::string raw;
  uint32_t number = 0;
  while (std::getline(in, raw)) {
    ++number;
    auto cut = raw.find_first_of(";#");
    std::string body = cut == std::string::npos ? raw : raw.substr(0, cut);
    auto toks = split_ws(body);
    if (toks.empty()) continue;
    Line ln{file, number};
    if (toks[0][0] == '.') {
      parse_directive(ln, toks, prog);
    } else {
      prog.code.push_back(parse_instruction(ln, toks));
      prog.source_lines.push_back(number);
    }
  }
  if (prog.code.empty()) throw InputError(fmt::format("{}: no instructions", file));
  if (prog.name.empty()) {
    auto slash = file.find_last_of('/');
    std::string stem = slash == std::string::npos ? file : file.substr(slash + 1);
    prog.name = stem.substr(0, stem.find('.'));
  }
  return prog;
}

Program assemble_file(const std::string& path) {
  std::string text = read_input_file(path, kMaxSourceBytes);
  if (text.empty()) throw InputError(fmt::format("{}: empty file", path));
  return assemble(text, path);
}

std::string disassemble(const Instruction& in) {
  switch (in.op) {
    case Opcode::kNop:
      return "nop";
    case Opcode::kHalt:
      return "halt";
    case Opcode::kReadHost:
    case Opcode::kWriteHost:
      return fmt::format("{} host={} ub={} n={}", mnemonic(in.op), in.a, in.b, in.c);
    case Opcode::kReadWeights:
      return fmt::format("rw tile={} n={}{}", in.a, in.c,
                         in.d ? fmt::format(" mxu={}", in.d) : std::string());
    case Opcode::kMatmul:
      return fmt::format("mmc ub={} acc={} b={}{}{}{}{}{}", in.a, in.b, in.c,
                         (in.flags & kFlagSwitch) ? " switch" : "",
                         (in.flags & kFlagAccumulate) ? " accumulate" : "",
                         in.chained() ? " chain" : "",
                         in.fan() ? fmt::format(" fan={}", in.fan()) : std::string(),
                         in.d ? fmt::format(" mxu={}", in.d) : std::string());
    case Opcode::kActivate: {
      std::string s =
          fmt::format("act acc={} ub={} n={} fn={}", in.a, in.b, in.c, kFnNames[in.flags & 3]);
      uint8_t pool = (in.flags >> 2) & 3;
      if (in.pool_2d())
        s += fmt::format(" pool2d={} out={}", kPoolNames[pool], in.d);
      else if (pool)
        s += fmt::format(" pool={}:{}", kPoolNames[pool], 1u << in.d);
      return s;
    }
    case Opcode::kSetConfig:
      if (in.a == uint32_t(ConfigReg::kMult)) return fmt::format("setc mult={}", int32_t(in.b));
      if (in.a == uint32_t(ConfigReg::kShift)) return fmt::format("setc shift={}", in.b);
      if (in.a == uint32_t(ConfigReg::kPoolIn))
        return fmt::format("setc pool_in={}x{}", in.b >> 16, in.b & 0xFFFF);
      if (in.a == uint32_t(ConfigReg::kPoolWindow))
        return fmt::format("setc pool_window={}x{}/{}x{}", in.b & 0xFF, (in.b >> 8) & 0xFF,
                           (in.b >> 16) & 0xFF, in.b >> 24);
      if (in.a == uint32_t(ConfigReg::kPoolPad))
        return fmt::format("setc pool_pad={},{},{},{}", in.b & 0xFF, (in.b >> 8) & 0xFF,
                           (in.b >> 16) & 0xFF, in.b >> 24);
      if (in.a == uint32_t(ConfigReg::kPoolRecip)) return fmt::format("setc pool_recip={}", in.b);
      return fmt::format("setc round={}", kRoundNames[in.b < 3 ? in.b : 0]);
    case Opcode::kSync: {
      std::string s;
      if (in.flags == kUnitAll) s = "all";
      for (int i = 0; i < 4 && in.flags != kUnitAll; ++i)
        if (in.flags & (1u << i)) s += (s.empty() ? "" : ",") + std::string(kUnitNames[i]);
      return "sync " + s + (in.d ? fmt::format(" pending={}", in.d) : "");
    }
  }
  return "?";
}

std::string disassemble(const Program& prog) {
  std::string out;
  if (!prog.name.empty()) out += fmt::format(".name {}\n", prog.name);
  auto images = [&](const char* d, const std::map<uint64_t, std::vector<int8_t>>& m) {
    for (const auto& [addr, bytes] : m) {
      out += fmt::format("{} {}", d, addr);
      for (int8_t b : bytes) out += fmt::format(" {}", int(b));
      out += "\n";
    }
  };
  images(".host", prog.host_init);
  images(".weights", prog.weight_init);
  for (const auto& r : prog.random_init)
    out += fmt::format(".random {} {} {} seed={}\n", r.weights ? "weights" : "host", r.addr,
                       r.count, r.seed);
  for (const auto& in : prog.code) out += disassemble(in) + "\n";
  return out;
}

std::vector<uint8_t> to_binary(const Program& prog) {
  std::vector<uint8_t> out;
  out.reserve(prog.code.size() * kInstructionBytes);
  for (const auto& in : prog.code) {
    auto e = encode(in);
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

Program from_binary(const std::vector<uint8_t>& bytes, const std::string& file) {
  if (bytes.empty()) throw InputError(fmt::format("{}: empty file", file));
  if (bytes.size() % kInstructionBytes != 0)
    throw InputError(fmt::format("{}: size {} bytes is not a multiple of the {}-byte instruction",
                                 file, bytes.size(), kInstructionBytes));
  Program prog;
  prog.source_file = file;
  for (size_t i = 0; i < bytes.size(); i += kInstructionBytes) {
    prog.code.push_back(decode(
        &bytes[i], fmt::format("{}: instruction {} (byte {})", file, i / kInstructionBytes, i)));
    prog.source_lines.push_back(0);
  }
  auto slash = file.find_last_of('/');
  std::string stem = slash == std::string::npos ? file : file.substr(slash + 1);
  prog.name = stem.substr(0, stem.find('.'));
  return prog;
}

Program load_binary_file(const std::string& path) {
  std::string s = read_input_file(path, kMaxSourceBytes);
  return from_binary(std::vector<uint8_t>(s.begin(), s.end()), path);
}

}  // namespace tpusim

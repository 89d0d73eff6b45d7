#include "sim/engines/cycle/vcd.h"

#include <map>
#include <stdexcept>

namespace tpusim::sc {

Vcd::Vcd(const std::string& path) : out_(path) {
  if (!out_) throw std::runtime_error("cannot write VCD file " + path);
}

Vcd::~Vcd() { out_.flush(); }

void Vcd::add(const std::string& scope, const std::string& name, uint32_t width, Getter get) {
  Var v;
  v.scope = scope;
  v.name = name;
  v.width = width;
  v.get = std::move(get);
  // identifier: base-94 printable code of the index
  size_t n = vars_.size();
  do {
    v.id.push_back(char('!' + n % 94));
    n /= 94;
  } while (n);
  v.last.assign((width + 31) / 32, 0);
  vars_.push_back(std::move(v));
}

void Vcd::add_u64(const std::string& scope, const std::string& name, uint32_t width,
                  std::function<uint64_t()> get) {
  add(scope, name, width, [get = std::move(get), width](uint32_t* w) {
    const uint64_t v = get();
    w[0] = uint32_t(v);
    if (width > 32) w[1] = uint32_t(v >> 32);
  });
}

void Vcd::header() {
  out_ << "$version tpusim SystemC twin $end\n$timescale 1ns $end\n";
  // scopes in registration order, nested by '.'
  std::vector<std::string> open;
  auto split = [](const std::string& s) {
    std::vector<std::string> parts;
    size_t b = 0;
    for (size_t i = 0; i <= s.size(); ++i)
      if (i == s.size() || s[i] == '.') {
        parts.push_back(s.substr(b, i - b));
        b = i + 1;
      }
    return parts;
  };
  for (const Var& v : vars_) {
    const auto parts = split(v.scope);
    size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) ++common;
    while (open.size() > common) {
      out_ << "$upscope $end\n";
      open.pop_back();
    }
    for (size_t i = common; i < parts.size(); ++i) {
      out_ << "$scope module " << parts[i] << " $end\n";
      open.push_back(parts[i]);
    }
    out_ << "$var wire " << v.width << " " << v.id << " " << v.name;
    if (v.width > 1) out_ << " [" << v.width - 1 << ":0]";
    out_ << " $end\n";
  }
  while (!open.empty()) {
    out_ << "$upscope $end\n";
    open.pop_back();
  }
  out_ << "$enddefinitions $end\n";
  header_done_ = true;
}

void Vcd::sample(uint64_t time) {
  if (!header_done_) header();
  bool stamped = false;
  for (Var& v : vars_) {
    buf_.assign(v.last.size(), 0);
    v.get(buf_.data());
    if (v.width % 32) buf_.back() &= (uint32_t(1) << (v.width % 32)) - 1;
    if (!v.first && buf_ == v.last) continue;
    if (!stamped) {
      out_ << '#' << time << '\n';
      stamped = true;
    }
    v.first = false;
    v.last = buf_;
    if (v.width == 1) {
      out_ << (buf_[0] & 1u) << v.id << '\n';
    } else {
      out_ << 'b';
      bool lead = true;
      for (int i = int(v.width) - 1; i >= 0; --i) {
        const bool b = (buf_[i / 32] >> (i % 32)) & 1u;
        if (lead && !b && i > 0) continue;
        lead = false;
        out_ << (b ? '1' : '0');
      }
      out_ << ' ' << v.id << '\n';
    }
  }
}

}  // namespace tpusim::sc

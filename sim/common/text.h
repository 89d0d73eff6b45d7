// Quoting for the text formats tpusim writes: CSV cells (RFC 4180) and /bin/sh arguments.
#pragma once

#include <string>

namespace tpusim {

// `s` as one CSV cell: as it is, or double-quoted (quotes doubled) when it holds a comma, a quote
// or a line break.
std::string csv_quote(const std::string& s);

// `s` single-quoted for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace tpusim

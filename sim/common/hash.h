// Hashes for checksums and identities (not cryptography).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tpusim {

// 64-bit FNV-1a over `bytes` bytes, continuing from `seed` (the FNV offset basis by default):
// output checksums in reports, sweep point ids, program identities.
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace tpusim

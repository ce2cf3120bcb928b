// Shared by fuzz_sealed_op.cpp and gen_sealed_corpus.cpp: the fixed content
// key and database of the sealed-operation target.
#pragma once

#include "tests/fuzz/fuzz_crypto.hpp"

namespace blaze::fuzz_sealed {

inline const std::string database = "fuzz-db@00112233445566778899aabbccddeeff";

/// The key sealed operations are sealed with (32 x 0x07, epoch 1).
inline const crypto::content_key& key() { return fuzz_crypto::content(); }

} // namespace blaze::fuzz_sealed

#include "core/crypto/content_key.hpp"

#include <limits>

namespace blaze::crypto {

result<content_key> content_key::generate(uint32_t epoch) {
  auto k = random_secret<32>();
  if (!k)
    return k.error();
  return content_key(std::move(*k), epoch);
}

result<content_key> content_key::rotate() const {
  if (epoch_ == std::numeric_limits<uint32_t>::max())
    return status{errc::invalid_argument, "the content key is at the last epoch (2^32 - 1) and cannot rotate"};
  return generate(epoch_ + 1);
}

} // namespace blaze::crypto

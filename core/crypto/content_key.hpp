// A database's content key (DESIGN §8): the AES-256-GCM key that seals
// operation payloads, and its epoch. Removing a member rotates the key: a
// new epoch with a fresh random key. Payloads name the epoch they were sealed
// under (aead.hpp), so members keep every epoch they were given and old
// payloads stay readable to those who had the old key.
#pragma once

#include "core/crypto/secret.hpp"
#include "core/status.hpp"

#include <cstdint>

namespace blaze::crypto {

class content_key {
public:
  /// A fresh random key of `epoch` (the first epoch of a database is 1).
  static result<content_key> generate(uint32_t epoch = 1);
  /// A key received (key_wrap.hpp: unwrap) or loaded from storage.
  content_key(secret_bytes<32> key, uint32_t epoch) : key_(std::move(key)), epoch_(epoch) {}

  content_key(content_key&&) noexcept = default;
  content_key& operator=(content_key&&) noexcept = default;

  /// The next epoch: epoch() + 1 and a fresh random key, unrelated to this
  /// one (knowing this key tells nothing about the next). This key is left
  /// as it was (old payloads still open with it). Fails with
  /// errc::invalid_argument when the epoch would pass 2^32 - 1.
  result<content_key> rotate() const;

  uint32_t epoch() const { return epoch_; }
  const secret_bytes<32>& key() const { return key_; }

private:
  secret_bytes<32> key_;  // wiped on destruction
  uint32_t epoch_;
};

} // namespace blaze::crypto

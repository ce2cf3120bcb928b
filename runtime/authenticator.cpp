#include "runtime/authenticator.hpp"

#include "core/crypto/secret.hpp"

#include <spdlog/spdlog.h>

namespace blaze {

std::string node_authenticator::public_key() const { return std::string(key_->public_key().view()); }

node_id node_authenticator::node_of(const std::string& public_key) const {
  auto pk = crypto::ed25519_public_key::from_bytes(public_key);
  return pk ? crypto::node_id_of(*pk) : node_id{};
}

std::string node_authenticator::sign(const std::string& message) const {
  auto sig = key_->sign(message);
  if (!sig) {
    spdlog::error("cannot sign the sync handshake: {}", sig.error().to_string());
    return {};
  }
  return std::string(sig->view());
}

bool node_authenticator::verify(const std::string& public_key, const std::string& message,
                                const std::string& signature) const {
  auto pk = crypto::ed25519_public_key::from_bytes(public_key);
  auto sig = crypto::signature::from_bytes(signature);
  return pk && sig && crypto::verify(*pk, message, *sig);
}

std::string node_authenticator::challenge() const {
  std::string out(32, '\0');
  if (auto s = crypto::random_fill(reinterpret_cast<uint8_t*>(out.data()), out.size()); !s)
    spdlog::error("no randomness for a sync challenge: {}", s.to_string());  // the peer refuses it
  return out;
}

} // namespace blaze

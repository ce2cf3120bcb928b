// The node's side of handshake authentication (docs/protocol.md §3): signs
// with the node's Ed25519 identity key and checks peers' keys with
// core/crypto. One instance serves every sync session of a node.
#pragma once

#include "core/crypto/ed25519.hpp"
#include "core/sync_session.hpp"

#include <memory>

namespace blaze {

class node_authenticator final : public sync::authenticator {
public:
  explicit node_authenticator(std::shared_ptr<const crypto::signing_key> key) : key_(std::move(key)) {}

  std::string public_key() const override;
  node_id node_of(const std::string& public_key) const override;
  /// Empty when OpenSSL cannot sign (the peer then refuses the handshake).
  std::string sign(const std::string& message) const override;
  bool verify(const std::string& public_key, const std::string& message,
              const std::string& signature) const override;
  std::string challenge() const override;

private:
  std::shared_ptr<const crypto::signing_key> key_;
};

} // namespace blaze

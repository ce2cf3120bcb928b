// A node's identity: an Ed25519 key pair kept in the data directory (0600),
// and the node id derived from it (first 16 bytes of SHA-256 of the public
// key). A data directory copied to another host or path takes a fresh
// identity, so two live replicas never write under one origin.
#pragma once

#include "core/crypto/ed25519.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace blaze {

struct identity {
  node_id id;
  std::string public_key;  // 32 raw Ed25519 bytes
  /// The private key, for signing (the handshake; operations later).
  std::shared_ptr<const crypto::signing_key> key;
  bool fresh = false;      // created now (first start, or a copied directory)
  std::string reason;      // why a fresh identity was taken, if it was
};

/// Loads `<dir>/identity.key` (creating it on first start) and checks
/// `<dir>/instance` (host and canonical path); on a mismatch the old key is
/// kept as identity.key.previous and a new one is made.
result<identity> load_or_create_identity(const std::filesystem::path& dir);

} // namespace blaze

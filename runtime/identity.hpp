// A node's identity: an Ed25519 key pair kept in the data directory (0600),
// and the node id derived from it (first 16 bytes of SHA-256 of the public
// key). A data directory copied to another host or path takes a fresh
// identity, so two live replicas never write under one origin.
//
// Each node also has an X25519 key-agreement key (`<dir>/exchange.key`,
// 0600), separate from the Ed25519 key: content keys of the databases it is
// a member of are wrapped for it (core/crypto/key_wrap.hpp). It is made with
// the identity, made on the first start of a directory that has an identity
// but no exchange key (older directories), and replaced, like the identity,
// when a copied directory takes a fresh identity. Both public keys together
// are the node's member key (core/crypto/member_key.hpp), what `blazedb id`
// prints for invitations.
#pragma once

#include "core/crypto/ed25519.hpp"
#include "core/crypto/key_wrap.hpp"
#include "core/crypto/member_key.hpp"
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
  /// The X25519 key-agreement key (unwraps content keys). Never null in an
  /// identity load_or_create_identity returns.
  std::shared_ptr<const crypto::x25519_key> exchange{};
  bool fresh = false;      // created now (first start, or a copied directory)
  std::string reason;      // why a fresh identity was taken, if it was
};

/// Loads `<dir>/identity.key` (creating it on first start) and checks
/// `<dir>/instance` (host and canonical path); on a mismatch the old key is
/// kept as identity.key.previous and a new one is made.
/// `<dir>/exchange.key` likewise: loaded, or made when missing; on a copied
/// directory kept as exchange.key.previous and replaced.
result<identity> load_or_create_identity(const std::filesystem::path& dir);

/// The member key of an identity (Ed25519 public || X25519 public).
crypto::member_key member_key_of(const identity& id);

} // namespace blaze

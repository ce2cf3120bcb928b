#include "core/crypto/key_wrap.hpp"
#include "core/crypto/aead.hpp"
#include "core/crypto/kdf.hpp"
#include "core/crypto/openssl_util.hpp"
#include "core/crypto/wire.hpp"

#include <openssl/err.h>

#include <algorithm>

namespace blaze::crypto {

using ossl::pkey_ctx_ptr;

result<x25519_key> x25519_key::adopt(result<pkey_handle> key) {
  if (!key)
    return key.error();
  auto pub = raw_key::public_bytes(key->get());
  if (!pub)
    return pub.error();
  return x25519_key(std::move(*key), x25519_public_key{*pub});
}

result<x25519_key> x25519_key::generate() { return adopt(raw_key::generate("X25519")); }

result<x25519_key> x25519_key::from_raw(const secret_bytes<32>& raw) {
  return adopt(raw_key::from_private("X25519", raw));
}

secret_bytes<32> x25519_key::raw() const { return raw_key::private_bytes(key_.get()); }

result<secret_bytes<32>> x25519_key::agree(const x25519_public_key& peer) const {
  pkey_handle pk(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.bytes.data(), peer.bytes.size()));
  pkey_ctx_ptr ctx(key_ ? EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr) : nullptr);
  secret_bytes<32> shared;
  size_t len = shared.size();
  if (!pk || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer_ex(ctx.get(), pk.get(), 1) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    // OpenSSL refuses an all-zero shared secret (a small-order peer key).
    return ossl::failure(errc::corrupt, "X25519 key agreement failed (invalid peer key)");
  }
  return shared;
}

namespace {

constexpr std::string_view wrap_tag = "blazedb/key-wrap/v1";
constexpr size_t header_size = 1 + 4 + 32;

/// The wrapping key and nonce for one (shared secret, context).
struct wrapping {
  secret_bytes<32> key;
  aes256gcm::nonce iv{};
};

result<wrapping> derive(const secret_bytes<32>& shared, std::string_view database_id, uint32_t epoch,
                        const x25519_public_key& recipient, std::string_view ephemeral) {
  std::string info;
  wire::put_tag(info, wrap_tag);
  wire::put_bytes(info, database_id);
  wire::put_u32(info, epoch);
  info.append(recipient.view());
  info.append(ephemeral);
  secret_bytes<44> okm;
  if (auto s = hkdf_sha256(shared.view(), {}, info, okm.data(), okm.size()); !s)
    return s;
  wrapping w;
  std::copy(okm.data(), okm.data() + 32, w.key.data());
  std::copy(okm.data() + 32, okm.data() + 44, w.iv.begin());
  return w;
}

} // namespace

result<std::string> wrap(const content_key& key, const x25519_public_key& recipient, std::string_view database_id) {
  auto eph = x25519_key::generate();
  if (!eph)
    return eph.error();
  auto shared = eph->agree(recipient);
  if (!shared)
    return shared.error();
  std::string out;
  wire::put_u8(out, wrapped_version);
  wire::put_u32(out, key.epoch());
  out.append(eph->public_key().view());
  auto w = derive(*shared, database_id, key.epoch(), recipient, eph->public_key().view());
  if (!w)
    return w.error();
  auto ct = aes256gcm::encrypt(w->key, w->iv, key.key().view(), out);
  if (!ct)
    return ct.error();
  out.append(*ct);
  return out;
}

result<content_key> unwrap(std::string_view wrapped, const x25519_key& recipient, std::string_view database_id) {
  if (wrapped.size() != wrapped_size)
    return status{errc::corrupt, "a wrapped key is " + std::to_string(wrapped_size) + " bytes, got " +
                                   std::to_string(wrapped.size())};
  if (static_cast<uint8_t>(wrapped[0]) != wrapped_version)
    return status{errc::corrupt, "wrapped key of unknown version " + std::to_string(static_cast<uint8_t>(wrapped[0]))};
  uint32_t epoch = wire::get_u32(wrapped.data() + 1);
  auto eph = *x25519_public_key::from_bytes(wrapped.substr(5, 32));
  auto shared = recipient.agree(eph);
  if (!shared)
    return shared.error();
  auto w = derive(*shared, database_id, epoch, recipient.public_key(), eph.view());
  if (!w)
    return w.error();
  auto pt = aes256gcm::decrypt(w->key, w->iv, wrapped.substr(header_size), wrapped.substr(0, header_size));
  if (!pt)
    return status{errc::corrupt, "the wrapped key does not open with this member key for this database and epoch "
                                 "(made for another member, altered, or another database)"};
  auto k = secret_bytes<32>::from(*pt);
  OPENSSL_cleanse(pt->data(), pt->size());
  if (!k)
    return k.error();
  return content_key(std::move(*k), epoch);
}

} // namespace blaze::crypto

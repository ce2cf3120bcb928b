#include "core/crypto/ed25519.hpp"
#include "core/crypto/openssl_util.hpp"
#include "core/crypto/sha256.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace blaze::crypto {

using ossl::md_ctx_ptr;

node_id node_id_of(const ed25519_public_key& key) {
  digest d = sha256(key.view());
  return id128::from_bytes(d.data());
}

result<signing_key> signing_key::adopt(result<pkey_handle> key) {
  if (!key)
    return key.error();
  if (EVP_PKEY_get_base_id(key->get()) != EVP_PKEY_ED25519)
    return status{errc::invalid_argument, "not an Ed25519 private key"};
  auto pub = raw_key::public_bytes(key->get());
  if (!pub)
    return pub.error();
  return signing_key(std::move(*key), ed25519_public_key{*pub});
}

result<signing_key> signing_key::generate() { return adopt(raw_key::generate("ED25519")); }

result<signing_key> signing_key::from_seed(const secret_bytes<32>& seed) {
  return adopt(raw_key::from_private("ED25519", seed));
}

result<signing_key> signing_key::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio)
    return ossl::failure(errc::io_error, "cannot read the PEM key");
  pkey_handle key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return ossl::failure(errc::corrupt, "not a PEM private key");
  return adopt(std::move(key));
}

secret_bytes<32> signing_key::seed() const { return raw_key::private_bytes(key_.get()); }

result<std::string> signing_key::to_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || !key_ || !PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return ossl::failure(errc::io_error, "cannot encode the Ed25519 key as PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(n));
  return out;
}

result<signature> signing_key::sign(std::string_view message) const {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  signature sig;
  size_t len = sig.bytes.size();
  if (!ctx || !key_ || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key_.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), sig.bytes.data(), &len, ossl::u8(message), message.size()) != 1 ||
      len != sig.bytes.size())
    return ossl::failure(errc::io_error, "Ed25519 signing failed");
  return sig;
}

bool verify(const ed25519_public_key& key, std::string_view message, const signature& sig) {
  pkey_handle pk(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, key.bytes.data(), key.bytes.size()));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  bool ok = pk && ctx &&
            EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, pk.get(), nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), sig.bytes.data(), sig.bytes.size(), ossl::u8(message), message.size()) == 1;
  if (!ok)
    ERR_clear_error();  // a failed verification is an answer, not an error to keep
  return ok;
}

} // namespace blaze::crypto

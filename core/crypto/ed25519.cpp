#include "core/crypto/ed25519.hpp"
#include "core/crypto/openssl_util.hpp"
#include "core/crypto/sha256.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>

namespace blaze::crypto {

using ossl::md_ctx_ptr;
using ossl::pkey_ctx_ptr;
using ossl::pkey_ptr;

std::optional<ed25519_public_key> ed25519_public_key::from_bytes(std::string_view raw) {
  if (raw.size() != 32)
    return std::nullopt;
  ed25519_public_key k;
  std::copy(raw.begin(), raw.end(), k.bytes.begin());
  return k;
}

std::optional<signature> signature::from_bytes(std::string_view raw) {
  if (raw.size() != 64)
    return std::nullopt;
  signature s;
  std::copy(raw.begin(), raw.end(), s.bytes.begin());
  return s;
}

node_id node_id_of(const ed25519_public_key& key) {
  digest d = sha256(key.view());
  return id128::from_bytes(d.data());
}

namespace {

/// Takes ownership of `raw` (an Ed25519 EVP_PKEY with a private key).
result<std::pair<pkey_ptr, ed25519_public_key>> adopt(EVP_PKEY* raw) {
  pkey_ptr key(raw);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519)
    return status{errc::invalid_argument, "not an Ed25519 private key"};
  ed25519_public_key pub;
  size_t len = pub.bytes.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.bytes.data(), &len) != 1 || len != pub.bytes.size())
    return ossl::failure(errc::invalid_argument, "cannot read the Ed25519 public key");
  return std::pair{std::move(key), pub};
}

} // namespace

signing_key::signing_key(EVP_PKEY* key, const ed25519_public_key& pub) : key_(key), pub_(pub) {}

signing_key::signing_key(signing_key&& o) noexcept : key_(o.key_), pub_(o.pub_) { o.key_ = nullptr; }

signing_key& signing_key::operator=(signing_key&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(key_);
    key_ = o.key_;
    pub_ = o.pub_;
    o.key_ = nullptr;
  }
  return *this;
}

signing_key::~signing_key() { EVP_PKEY_free(key_); }

result<signing_key> signing_key::generate() {
  EVP_PKEY* raw = nullptr;
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
    return ossl::failure(errc::io_error, "cannot generate an Ed25519 key");
  auto k = adopt(raw);
  if (!k)
    return k.error();
  return signing_key(k->first.release(), k->second);
}

result<signing_key> signing_key::from_seed(const secret_bytes<32>& seed) {
  auto k = adopt(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size()));
  if (!k)
    return k.error();
  return signing_key(k->first.release(), k->second);
}

result<signing_key> signing_key::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio)
    return ossl::failure(errc::io_error, "cannot read the PEM key");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!raw)
    return ossl::failure(errc::corrupt, "not a PEM private key");
  auto k = adopt(raw);
  if (!k)
    return k.error();
  return signing_key(k->first.release(), k->second);
}

secret_bytes<32> signing_key::seed() const {
  secret_bytes<32> s;
  size_t len = s.size();
  if (!key_ || EVP_PKEY_get_raw_private_key(key_, s.data(), &len) != 1 || len != s.size())
    return {};  // unreachable for a key made by this class
  return s;
}

result<std::string> signing_key::to_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || !key_ || !PEM_write_bio_PrivateKey(bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr))
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
  if (!ctx || !key_ || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key_, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), sig.bytes.data(), &len, ossl::u8(message), message.size()) != 1 ||
      len != sig.bytes.size())
    return ossl::failure(errc::io_error, "Ed25519 signing failed");
  return sig;
}

bool verify(const ed25519_public_key& key, std::string_view message, const signature& sig) {
  pkey_ptr pk(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, key.bytes.data(), key.bytes.size()));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  bool ok = pk && ctx &&
            EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, pk.get(), nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), sig.bytes.data(), sig.bytes.size(), ossl::u8(message), message.size()) == 1;
  if (!ok)
    ERR_clear_error();  // a failed verification is an answer, not an error to keep
  return ok;
}

} // namespace blaze::crypto

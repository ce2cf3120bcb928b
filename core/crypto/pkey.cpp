#include "core/crypto/pkey.hpp"
#include "core/crypto/openssl_util.hpp"

namespace blaze::crypto {

void pkey_deleter::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }

namespace raw_key {

result<pkey_handle> generate(const char* alg) {
  EVP_PKEY* raw = nullptr;
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
    return ossl::failure(errc::io_error, std::string("cannot generate an ") + alg + " key");
  return pkey_handle(raw);
}

result<pkey_handle> from_private(const char* alg, const secret_bytes<32>& raw) {
  pkey_handle k(EVP_PKEY_new_raw_private_key_ex(nullptr, alg, nullptr, raw.data(), raw.size()));
  if (!k)
    return ossl::failure(errc::invalid_argument, std::string("not an ") + alg + " private key");
  return k;
}

result<std::array<uint8_t, 32>> public_bytes(const EVP_PKEY* key) {
  std::array<uint8_t, 32> pub{};
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size())
    return ossl::failure(errc::invalid_argument, "cannot read a 32-byte raw public key");
  return pub;
}

secret_bytes<32> private_bytes(const EVP_PKEY* key) {
  secret_bytes<32> s;
  size_t len = s.size();
  if (!key || EVP_PKEY_get_raw_private_key(key, s.data(), &len) != 1 || len != s.size())
    return {};
  return s;
}

} // namespace raw_key

} // namespace blaze::crypto

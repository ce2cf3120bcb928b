#include "core/crypto/kdf.hpp"
#include "core/crypto/openssl_util.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

namespace blaze::crypto {

status hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, uint8_t* out, size_t length) {
  if (length == 0 || length > 255 * 32)
    return {errc::invalid_argument, "HKDF-SHA256 output must be 1 to 8160 bytes"};
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr), EVP_KDF_free);
  if (!kdf)
    return ossl::failure(errc::io_error, "OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()), EVP_KDF_CTX_free);
  if (!ctx)
    return ossl::failure(errc::io_error, "cannot make an HKDF context");
  char digest_name[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads them.
  auto p = [](std::string_view s) { return const_cast<char*>(s.data()); };
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, p(ikm), ikm.size());
  if (!salt.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, p(salt), salt.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, p(info), info.size());
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out, length, params) != 1)
    return ossl::failure(errc::io_error, "HKDF-SHA256 failed");
  return {};
}

} // namespace blaze::crypto

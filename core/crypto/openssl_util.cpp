#include "core/crypto/openssl_util.hpp"
#include "core/crypto/secret.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace blaze::crypto {

namespace ossl {

namespace {

[[noreturn]] void missing(const char* what) {
  std::fprintf(stderr, "blaze crypto: OpenSSL has no %s (broken installation)\n", what);
  std::abort();
}

} // namespace

const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (!m)
      missing("SHA2-256");
    return m;
  }();
  return md;
}

const EVP_CIPHER* aes256gcm_cipher() {
  static const EVP_CIPHER* c = [] {
    EVP_CIPHER* x = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (!x)
      missing("AES-256-GCM");
    return x;
  }();
  return c;
}

std::string last_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0)
    return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

status failure(errc code, const std::string& what) { return {code, what + ": " + last_error()}; }

} // namespace ossl

status random_fill(uint8_t* out, size_t n) {
  while (n > 0) {
    int chunk = n > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1)
      return ossl::failure(errc::io_error, "random generator (RAND_bytes) failed");
    out += chunk;
    n -= static_cast<size_t>(chunk);
  }
  return {};
}

} // namespace blaze::crypto

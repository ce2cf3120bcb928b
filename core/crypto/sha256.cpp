#include "core/crypto/sha256.hpp"
#include "core/crypto/openssl_util.hpp"

#include <cstdio>
#include <cstdlib>

namespace blaze::crypto {

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "blaze crypto: SHA-256 %s failed: %s\n", what, ossl::last_error().c_str());
  std::abort();
}

} // namespace

digest sha256(std::string_view bytes) {
  digest d;
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, ossl::sha256_md(), nullptr) != 1 || len != d.size())
    broken("EVP_Digest");
  return d;
}

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_)
    broken("EVP_MD_CTX_new");
  reset();
}

sha256_hasher::~sha256_hasher() { EVP_MD_CTX_free(ctx_); }

sha256_hasher& sha256_hasher::reset() {
  if (EVP_DigestInit_ex2(ctx_, ossl::sha256_md(), nullptr) != 1)
    broken("EVP_DigestInit_ex2");
  return *this;
}

sha256_hasher& sha256_hasher::update(const uint8_t* p, size_t n) {
  if (EVP_DigestUpdate(ctx_, p, n) != 1)
    broken("EVP_DigestUpdate");
  return *this;
}

sha256_hasher& sha256_hasher::update(std::string_view bytes) {
  return update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

digest sha256_hasher::finish() {
  digest d;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, d.data(), &len) != 1 || len != d.size())
    broken("EVP_DigestFinal_ex");
  return d;
}

std::string to_hex(std::string_view bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<uint8_t>(c);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

} // namespace blaze::crypto

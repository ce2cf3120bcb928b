// Internal to core/crypto's .cpp files: owning pointers for OpenSSL objects,
// the algorithms fetched once per process, and OpenSSL's error text.
#pragma once

#include "core/status.hpp"

#include <openssl/evp.h>

#include <memory>
#include <string>

namespace blaze::crypto::ossl {

struct pkey_ctx_free { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct md_ctx_free { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct cipher_ctx_free { void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); } };

using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

/// SHA-256 and AES-256-GCM from the default provider, fetched on first use
/// (thread-safe static) so that each call does not pay an implicit fetch.
/// Abort with a message if the provider lacks them.
const EVP_MD* sha256_md();
const EVP_CIPHER* aes256gcm_cipher();

/// The most recent OpenSSL error queue entry as text (and clears the queue).
std::string last_error();

/// status{code, what + ": " + last_error()}.
status failure(errc code, const std::string& what);

/// Reinterprets bytes for OpenSSL.
inline const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

} // namespace blaze::crypto::ossl

#include "core/crypto/aead.hpp"
#include "core/crypto/openssl_util.hpp"
#include "core/crypto/wire.hpp"

#include <openssl/err.h>

namespace blaze::crypto {

namespace aes256gcm {

namespace {

constexpr size_t max_input = size_t{1} << 30;

result<std::string> run(bool enc, const secret_bytes<32>& key, const nonce& iv, std::string_view in,
                        std::string_view aad) {
  if (in.size() > max_input + (enc ? 0 : tag_size) || aad.size() > max_input)
    return status{errc::too_large, "AES-256-GCM input over 1 GiB"};
  if (!enc && in.size() < tag_size)
    return status{errc::corrupt, "sealed data shorter than its authentication tag"};
  size_t body = enc ? in.size() : in.size() - tag_size;
  ossl::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex2(ctx.get(), ossl::aes256gcm_cipher(), key.data(), iv.data(), enc ? 1 : 0, nullptr) != 1)
    return ossl::failure(errc::io_error, "AES-256-GCM initialisation failed");
  int len = 0;
  if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &len, ossl::u8(aad), static_cast<int>(aad.size())) != 1)
    return ossl::failure(errc::io_error, "AES-256-GCM failed on the associated data");
  std::string out(body + (enc ? tag_size : 0), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (body > 0 && EVP_CipherUpdate(ctx.get(), o, &len, ossl::u8(in), static_cast<int>(body)) != 1)
    return ossl::failure(errc::io_error, "AES-256-GCM failed");
  if (!enc) {
    // The tag to check; OpenSSL copies it.
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size,
                            const_cast<char*>(in.data() + body)) != 1)
      return ossl::failure(errc::io_error, "AES-256-GCM cannot set the tag");
  }
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx.get(), o + body, &fin) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return status{errc::corrupt, "sealed data does not authenticate (altered, or another key or context)"};
  }
  if (enc && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size, o + body) != 1)
    return ossl::failure(errc::io_error, "AES-256-GCM cannot read the tag");
  return out;
}

} // namespace

result<std::string> encrypt(const secret_bytes<32>& key, const nonce& iv, std::string_view plaintext,
                            std::string_view aad) {
  return run(true, key, iv, plaintext, aad);
}

result<std::string> decrypt(const secret_bytes<32>& key, const nonce& iv, std::string_view ciphertext_and_tag,
                            std::string_view aad) {
  return run(false, key, iv, ciphertext_and_tag, aad);
}

} // namespace aes256gcm

namespace {

constexpr std::string_view op_ad_tag = "blazedb/op-ad/v1";

std::string header(uint32_t epoch) {
  std::string h;
  wire::put_u8(h, sealed_version);
  wire::put_u32(h, epoch);
  return h;
}

} // namespace

std::string op_associated_data(std::string_view database_id, std::string_view collection, const dot& at) {
  std::string ad;
  wire::put_tag(ad, op_ad_tag);
  wire::put_bytes(ad, database_id);
  wire::put_bytes(ad, collection);
  wire::put_id(ad, at.origin);
  wire::put_u64(ad, at.seq);
  return ad;
}

result<std::string> seal(const content_key& key, std::string_view plaintext, std::string_view associated_data,
                         const std::optional<aes256gcm::nonce>& fixed_nonce) {
  aes256gcm::nonce iv{};
  if (fixed_nonce) {
    iv = *fixed_nonce;
  } else if (auto s = random_fill(iv.data(), iv.size()); !s) {
    return s;
  }
  std::string out = header(key.epoch());
  std::string aad = out;
  aad.append(associated_data);
  auto ct = aes256gcm::encrypt(key.key(), iv, plaintext, aad);
  if (!ct)
    return ct.error();
  wire::put_fixed(out, iv);
  out.append(*ct);
  return out;
}

result<uint32_t> sealed_epoch(std::string_view sealed) {
  if (sealed.size() < sealed_overhead)
    return status{errc::corrupt, "sealed payload truncated: " + std::to_string(sealed.size()) +
                                   " bytes, at least " + std::to_string(sealed_overhead) + " expected"};
  if (static_cast<uint8_t>(sealed[0]) != sealed_version)
    return status{errc::corrupt, "sealed payload of unknown version " +
                                   std::to_string(static_cast<uint8_t>(sealed[0]))};
  return wire::get_u32(sealed.data() + 1);
}

result<std::string> open(const content_key& key, std::string_view sealed, std::string_view associated_data) {
  auto epoch = sealed_epoch(sealed);
  if (!epoch)
    return epoch.error();
  if (*epoch != key.epoch())
    return status{errc::corrupt, "sealed under epoch " + std::to_string(*epoch) + ", the key is of epoch " +
                                   std::to_string(key.epoch())};
  std::string aad(sealed.substr(0, 5));
  aad.append(associated_data);
  auto iv = wire::to_array<aes256gcm::nonce_size>(sealed.substr(5, aes256gcm::nonce_size));
  return aes256gcm::decrypt(key.key(), iv, sealed.substr(sealed_header_size), aad);
}

} // namespace blaze::crypto

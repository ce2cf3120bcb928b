#include "runtime/identity.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace blaze {

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string instance_text(const std::filesystem::path& dir) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::error_code ec;
  auto canon = std::filesystem::canonical(dir, ec);
  return std::string("host=") + host + "\npath=" + (ec ? dir.string() : canon.string()) + "\n";
}

status write_private(const std::filesystem::path& p, const std::string& bytes) {
  auto tmp = p;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return {errc::io_error, "cannot write " + tmp.string() + ": " + std::strerror(errno)};
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0)
    return {errc::io_error, "cannot write " + p.string() + ": " + std::strerror(errno)};
  return {};
}

result<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return status{errc::io_error, "cannot read " + p.string()};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

result<identity> from_key(EVP_PKEY* key) {
  identity out;
  unsigned char pub[32];
  size_t len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 || len != 32)
    return status{errc::corrupt, "identity key is not an Ed25519 key"};
  out.public_key.assign(reinterpret_cast<char*>(pub), 32);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(pub, 32, digest);
  out.id = id128::from_bytes(digest);
  return out;
}

result<identity> create(const std::filesystem::path& key_path) {
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                  EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
    return status{errc::io_error, "cannot generate an Ed25519 key"};
  pkey_ptr key(raw, EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return status{errc::io_error, "cannot encode the identity key"};
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (auto s = write_private(key_path, std::string(data, static_cast<size_t>(n))); !s)
    return s;
  auto id = from_key(key.get());
  if (id)
    id->fresh = true;
  return id;
}

} // namespace

result<identity> load_or_create_identity(const std::filesystem::path& dir) {
  auto key_path = dir / "identity.key";
  auto inst_path = dir / "instance";
  auto here = instance_text(dir);
  std::error_code ec;
  std::string reason;
  if (std::filesystem::exists(key_path, ec)) {
    auto inst = read_file(inst_path);
    if (inst && *inst == here) {
      auto pem = read_file(key_path);
      if (!pem)
        return pem.error();
      std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())),
                                                    BIO_free);
      pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
      if (!key)
        return status{errc::corrupt, key_path.string() + " is not a PEM private key"};
      ::chmod(key_path.c_str(), 0600);
      return from_key(key.get());
    }
    reason = inst ? "the data directory was copied or moved (instance file names another host or path)"
                  : "the data directory has a key but no instance file";
    auto prev = key_path;
    prev += ".previous";
    std::filesystem::rename(key_path, prev, ec);
    spdlog::warn("{}: {}; taking a fresh node identity", dir.string(), reason);
  }
  auto id = create(key_path);
  if (!id)
    return id;
  if (auto s = write_private(inst_path, here); !s)
    return s;
  id->reason = reason;
  return id;
}

} // namespace blaze

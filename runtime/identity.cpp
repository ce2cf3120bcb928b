#include "runtime/identity.hpp"

#include "core/crypto/ed25519.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace blaze {

namespace {

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

// The key helpers (generation, PEM, node id) are core/crypto's: the node id
// is crypto::node_id_of(public key), the one the hash chain checks.
identity from_key(crypto::signing_key key) {
  identity out;
  out.public_key = std::string(key.public_key().view());
  out.id = key.id();
  out.key = std::make_shared<const crypto::signing_key>(std::move(key));
  return out;
}

result<identity> create(const std::filesystem::path& key_path) {
  auto key = crypto::signing_key::generate();
  if (!key)
    return status{errc::io_error, "cannot generate an Ed25519 key: " + key.error().to_string()};
  auto pem = key->to_pem();
  if (!pem)
    return status{errc::io_error, "cannot encode the identity key: " + pem.error().to_string()};
  if (auto s = write_private(key_path, *pem); !s)
    return s;
  auto id = from_key(std::move(*key));
  id.fresh = true;
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
      auto key = crypto::signing_key::from_pem(*pem);
      if (!key)
        return status{errc::corrupt, key_path.string() + " is not a PEM Ed25519 private key (" +
                                       key.error().to_string() + ")"};
      ::chmod(key_path.c_str(), 0600);
      return from_key(std::move(*key));
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

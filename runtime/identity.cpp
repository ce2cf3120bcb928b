#include "runtime/identity.hpp"

#include "core/crypto/ed25519.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

// exchange.key: "blazedb-x25519-v1 " || 64 hex digits of the raw private key || "\n".
constexpr std::string_view exchange_header = "blazedb-x25519-v1 ";

std::string exchange_text(const crypto::x25519_key& key) {
  static const char* digits = "0123456789abcdef";
  auto raw = key.raw();
  std::string out(exchange_header);
  for (size_t i = 0; i < raw.size(); ++i) {
    out.push_back(digits[raw.data()[i] >> 4]);
    out.push_back(digits[raw.data()[i] & 15]);
  }
  out.push_back('\n');
  return out;
}

result<crypto::x25519_key> parse_exchange(const std::filesystem::path& p, std::string text) {
  auto fail = [&] {
    return status{errc::corrupt, p.string() + " is not a BlazeDB X25519 key file (expected \"" +
                                   std::string(exchange_header) + "\" and 64 hex digits)"};
  };
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.size() != exchange_header.size() + 64 || text.compare(0, exchange_header.size(), exchange_header) != 0)
    return fail();
  crypto::secret_bytes<32> raw;
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[exchange_header.size() + 2 * i + j];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0)
        return fail();
      v = v * 16 + d;
    }
    raw.data()[i] = static_cast<uint8_t>(v);
  }
  std::fill(text.begin(), text.end(), '\0');
  return crypto::x25519_key::from_raw(raw);
}

// Loads <dir>/exchange.key, or makes it when it does not exist.
// `existing`: the node's identity key already existed (a missing exchange key
// is then worth a warning).
status load_or_create_exchange(const std::filesystem::path& path, identity& id, bool existing) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto text = read_file(path);
    if (!text)
      return text.error();
    auto key = parse_exchange(path, std::move(*text));
    if (!key)
      return key.error();
    ::chmod(path.c_str(), 0600);
    id.exchange = std::make_shared<const crypto::x25519_key>(std::move(*key));
    return {};
  }
  auto key = crypto::x25519_key::generate();
  if (!key)
    return status{errc::io_error, "cannot generate an X25519 key: " + key.error().to_string()};
  if (auto s = write_private(path, exchange_text(*key)); !s)
    return s;
  if (existing)
    spdlog::warn("{} was missing and a new exchange key was made: end-to-end encrypted databases whose keys "
                 "were wrapped for the old one cannot be read or shared by this node until an admin grants it "
                 "again (docs/security.md §3)",
                 path.string());
  id.exchange = std::make_shared<const crypto::x25519_key>(std::move(*key));
  return {};
}

} // namespace

crypto::member_key member_key_of(const identity& id) {
  crypto::member_key k;
  if (id.key)
    k.signing = id.key->public_key();
  if (id.exchange)
    k.exchange = id.exchange->public_key();
  return k;
}

result<identity> load_or_create_identity(const std::filesystem::path& dir) {
  auto key_path = dir / "identity.key";
  auto exchange_path = dir / "exchange.key";
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
      auto id = from_key(std::move(*key));
      if (auto s = load_or_create_exchange(exchange_path, id, true); !s)
        return s;
      return id;
    }
    reason = inst ? "the data directory was copied or moved (instance file names another host or path)"
                  : "the data directory has a key but no instance file";
    auto prev = key_path;
    prev += ".previous";
    std::filesystem::rename(key_path, prev, ec);
    auto prev_exchange = exchange_path;
    prev_exchange += ".previous";
    if (std::filesystem::exists(exchange_path, ec))
      std::filesystem::rename(exchange_path, prev_exchange, ec);
    spdlog::warn("{}: {}; taking a fresh node identity", dir.string(), reason);
  }
  auto id = create(key_path);
  if (!id)
    return id;
  std::filesystem::remove(exchange_path, ec);  // a stray key without its identity is not reused
  if (auto s = load_or_create_exchange(exchange_path, *id, false); !s)
    return s;
  if (auto s = write_private(inst_path, here); !s)
    return s;
  id->reason = reason;
  return id;
}

} // namespace blaze

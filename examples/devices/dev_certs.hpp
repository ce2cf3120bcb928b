// A throwaway development CA and a server certificate for 127.0.0.1 /
// localhost / ::1, made with the openssl command-line tool (TLS tests).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace blaze::demo {

struct tls_files {
  std::filesystem::path ca, cert, key;
};

inline tls_files make_dev_certs(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto p = [&](const char* f) { return (dir / f).string(); };
  {
    std::ofstream ext(p("san.ext"));
    ext << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n";
  }
  std::string q = " >/dev/null 2>&1";
  std::string cmds[] = {
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=blaze-test-ca -keyout " +
      p("ca.key") + " -out " + p("ca.pem") + q,
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout " + p("server.key") +
      " -out " + p("server.csr") + q,
    "openssl x509 -req -in " + p("server.csr") + " -CA " + p("ca.pem") + " -CAkey " + p("ca.key") +
      " -CAcreateserial -days 2 -extfile " + p("san.ext") + " -out " + p("server.pem") + q,
  };
  for (auto& c : cmds)
    if (std::system(c.c_str()) != 0)
      throw std::runtime_error("openssl failed: " + c);
  return {dir / "ca.pem", dir / "server.pem", dir / "server.key"};
}

} // namespace blaze::demo

// The sync commands of the `blazedb` CLI: serve, sync (docs/cli.md).
#pragma once

#include "examples/cli_commands.hpp"

#include <optional>
#include <string>
#include <vector>

namespace blaze::cli {

struct tls_args {
  std::string cert, key, ca;
  bool insecure = false;  // clients: do not verify the server's certificate
};

struct serve_args {
  std::vector<std::string> listen;  // HOST:PORT, TCP (TLS with a certificate)
  std::vector<std::string> ws;      // HOST:PORT, WebSocket (wss with a certificate)
  tls_args tls;
  double idle_close_s = 60;      // node_options::idle_database_close
  double compact_every_s = 600;  // node_options::compact_interval
};

struct sync_args {
  std::string url;
  std::string collections;  // a,b,c
  bool once = false;
  bool follow = false;
  bool quiet = false;
  int timeout_s = 60;  // --once gives up after this long
  tls_args tls;
};

int cmd_serve(const global_options& g, const serve_args& a);
int cmd_sync(const global_options& g, const sync_args& a);

/// The peers file a running serve/sync process keeps in the data directory.
std::optional<std::string> read_peers_file(const std::string& data_dir);

/// Whether a link's last_error is one the peer (or this side) ended the link
/// with that retrying will not cure (forbidden, unauthenticated, corrupt,
/// version_mismatch): `join` and `sync --once` fail at once on it.
bool fatal_link_error(const std::string& last_error);

/// Prints one line of JSON on stdout.
void print_json_line(const std::string& line);

} // namespace blaze::cli

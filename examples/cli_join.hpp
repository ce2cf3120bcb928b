// `blazedb join [URL] TOKEN` (docs/cli.md, docs/security.md §5): the
// invited member's side of the key exchange.
#pragma once

#include "examples/cli_sync.hpp"

#include <string>
#include <vector>

namespace blaze::cli {

struct join_args {
  std::string url;    // the peer; with `token` empty, this is the token (URL from its hint)
  std::string token;
  int timeout_s = 60;             // give up (and keep nothing new) after this long
  bool json = false;
  tls_args tls;
};

/// Syncs the database an invitation token names from the peer at URL once
/// (pull and push, until both sides are caught up), then checks that the
/// access list it got is owned by the token's owner key, that this node is
/// a member with the token's rights, and, for a sealed list and a reader,
/// that this node's keyring unlocks the current epoch. A database the join
/// created is removed again when any of that fails (or on timeout or
/// interruption). Bad token or URL: exit 2, nothing written.
int cmd_join(const global_options& g, const join_args& a);

} // namespace blaze::cli

// The transaction and sync-group commands of the `blazedb` CLI: txn, group
// (docs/cli.md, docs/transactions.md).
#pragma once

#include "examples/cli_commands.hpp"

#include <string>
#include <vector>

namespace blaze::cli {

struct txn_args {
  std::string file;   // a JSON list of writes ("-": stdin)
  std::string group;  // restrict to this group's databases (empty: the databases named)
};

struct group_args {
  std::string name;
  std::vector<std::string> databases;  // group create
  bool join = false;                   // group create: missing databases are another node's (new_database::join)
  std::string url;                     // group sync
  bool follow = false;
  int timeout_s = 60;
};

int cmd_txn(const global_options& g, const txn_args& a);
int cmd_group_create(const global_options& g, const group_args& a);
int cmd_group_list(const global_options& g);
int cmd_group_sync(const global_options& g, const group_args& a);

} // namespace blaze::cli

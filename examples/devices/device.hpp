// A device process for the multi-device demo and the multi-process tests:
// a node that syncs one database with a relay and takes commands on stdin,
// one JSON array per line, answering one JSON object per line on stdout.
//
//   ["put", COLL, KEY, {FIELDS}]   ["set", COLL, KEY, FIELD, VALUE]
//   ["inc", COLL, KEY, FIELD, N]   ["add"|"rm", COLL, KEY, FIELD, VALUE]
//   ["del", COLL, KEY]             ["pause"]  ["resume"]  ["wait", SECONDS]
//   ["dump", COLL]  ["digest"]  ["conflicts"]  ["status"]
//   ["probe", N, INTERVAL_MS]      ["latency", N, SECONDS]
//   ["quit"]
//
// KEY names a record; its id is derived from the key, so every device
// addresses the same record by the same key.
//
// The database: a device creates it as its own (owned, sealed) unless
// --join: then it is another node's, which takes writes once its owner
// shared it (["share", MEMBER_KEY, RIGHTS] on the owner's device) and the
// access list arrived through sync (["security"] tells "joining" until then).
#pragma once

#include <string>
#include <vector>

namespace blaze::demo {

struct device_args {
  std::string data_dir;
  std::string url;
  std::string db = "bugs";
  std::string ca;           // trust this CA for tls:// and wss://
  std::vector<std::string> collections;
  bool start_paused = false;
  bool join = false;        // open `db` as another node's (new_database::join)
};

/// Runs the command loop until ["quit"] or EOF; returns the exit code.
int run_device(const device_args& a);

} // namespace blaze::demo

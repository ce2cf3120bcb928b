// `blazedb join [URL] TOKEN` (docs/cli.md; docs/security.md §5): the invited
// member fetches the database an invitation token names and checks what it
// got against what the token says before keeping it.
//
//   1. the token parses (else exit 2, nothing opened or written), names this
//      node as the member, and, when the database already exists here, its
//      access list is the token's owner's (else refused before any network);
//   2. one sync with URL, pull and push, until both sides are caught up;
//   3. the fetched `_access` is owned by the token's owner key (a relay cannot
//      substitute another database of the same name), names this node with at
//      least the token's rights, is sealed as the token says, and for a sealed
//      list a reader's keyring unlocks the current epoch.
// A database the join created (or found empty) is removed again when 2 or 3
// fails, times out or is interrupted: a refused join leaves nothing behind. A
// database that existed with data is never removed.
#include "examples/cli_join.hpp"

#include "core/invite_token.hpp"
#include "runtime/net/url.hpp"
#include "examples/signal_waiter.hpp"
#include "runtime/node.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

namespace blaze::cli {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string hex_of(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// Live records outside `_access`: what this node can read.
uint64_t visible_records(const database& db) {
  auto st = db.status_info();
  if (!st)
    fail(st.error());
  uint64_t n = 0;
  for (auto& c : st->collections) {
    if (c == access::collection)
      continue;
    query q;
    q.collection = c;
    auto rows = db.run(q);
    if (!rows)
      fail(rows.error());
    n += rows->size();
  }
  return n;
}

// The state of one join: the node, and whether the database may be removed
// again (it did not exist, or existed without a single operation).
class joining {
public:
  joining(const global_options& g, std::string name) : g_(g), name_(std::move(name)) { n_ = open_node(g_); }
  ~joining() {
    db_.reset();
    n_.reset();
  }

  node& n() { return *n_; }
  database& db() { return *db_; }
  bool removable() const { return removable_; }

  /// Before any network: what is here already under the token's name.
  void check_existing(const invite_token& t) {
    auto names = n_->databases();
    if (!names)
      fail(names.error());
    bool existed = std::find(names->begin(), names->end(), name_) != names->end();
    removable_ = !existed;
    if (existed) {
      open(false);
      auto list = db_->access();
      if (!list)
        fail(list.error());
      if (!list->empty() && *list->owner() != t.owner)
        fail({errc::forbidden, "database '" + name_ + "' here is owned by node " + list->owner_id().to_hex() +
                                 ", the token names owner " + t.owner_id().to_hex() +
                                 ": another database of the same name (nothing changed)"});
      if (list->empty()) {
        auto st = db_->status_info();
        if (!st)
          fail(st.error());
        if (st->operations > 0)
          fail({errc::invalid_argument,
                "database '" + name_ + "' already exists here with " + std::to_string(st->operations) +
                  " operations and no access list: joining would merge them into " + t.owner_id().to_hex() +
                  "'s database; move it away or join from another data directory (nothing changed)"});
        removable_ = true;  // it holds nothing: a refused join may remove it
      }
    } else {
      open(true);
    }
  }

  /// Refuses the join: removes the database when it may (so nothing is
  /// left behind), then throws.
  [[noreturn]] void refuse(status why) {
    std::string tail;
    if (removable_) {
      db_.reset();
      n_.reset();           // every link, actor and store closed
      n_ = open_node(g_);   // the directory's lock again, nothing open
      std::error_code ec;
      fs::remove_all(fs::path(g_.data_dir) / name_, ec);
      tail = ec ? "; could not remove the fetched database '" + name_ + "': " + ec.message()
                : "; nothing was kept";
    } else {
      tail = "; what was fetched stays in the existing database '" + name_ + "'";
    }
    why.message += tail;
    fail(why);
  }

private:
  // Another node's database: a new one is created to join
  // (new_database::join), so it holds nothing and takes no local write until
  // the owner's access list arrives through the sync.
  void open(bool create) {
    database_options o;
    o.create = create;
    o.as = new_database::join;
    if (create)
      o.mode = g_.mode;
    auto d = n_->open_database(name_, o);
    if (!d)
      fail(d.error());
    db_.emplace(std::move(*d));
  }

  const global_options& g_;
  std::string name_;
  std::unique_ptr<node> n_;
  std::optional<database> db_;
  bool removable_ = false;
};

} // namespace

int cmd_join(const global_options& g, const join_args& a) {
  // ---- the command line: nothing is opened or written before it checks out
  bool url_given = !a.token.empty();  // `join TOKEN`: the one argument is the token
  auto parsed = invite_token::parse(url_given ? a.token : a.url);
  if (!parsed)
    usage(parsed.error().message);
  auto& t = *parsed;
  std::string url = url_given ? a.url : t.url;
  if (url.empty())
    usage("the token carries no URL: give the peer's, `blazedb join URL TOKEN`");
  if (auto ep = net::parse_url(url); !ep)
    usage(ep.error().message);
  if (g.db_given && g.db != t.database)
    usage("--db " + g.db + ", but the token is for database '" + t.database + "' (leave --db out)");

  signal_waiter signals;
  joining j(g, t.database);
  auto self = j.n().ident();
  if (t.member != self.id)
    fail({errc::forbidden, "this token invites node " + t.member.to_hex() + ", but this node (" + g.data_dir +
                             ") is " + self.id.to_hex() +
                             ": the inviter used another member key; give them the one `blazedb id` prints here"});
  j.check_existing(t);

  // ---- one sync, pull and push, until both sides are caught up
  sync_options so;
  so.databases = {t.database};
  so.tls.verify_peer = !a.tls.insecure;
  so.tls.cert = a.tls.cert;
  so.tls.key = a.tls.key;
  so.tls.ca = a.tls.ca;
  auto h = j.n().sync_with(url, so);
  if (!h)
    j.refuse(h.error());
  auto started = std::chrono::steady_clock::now();
  link_status last;
  for (;;) {
    if (int sig = signals.wait(100ms); sig != 0) {
      (*h)->stop();
      h->reset();
      j.refuse({errc::closed, std::string("interrupted (") + strsignal(sig) + ")"});
    }
    auto links = (*h)->status();
    if (!links.empty())
      last = links.front();
    if (last.synced)
      break;
    if (fatal_link_error(last.last_error)) {  // cli_sync.hpp
      (*h)->stop();
      h->reset();
      j.refuse({errc::forbidden, "the peer at " + url + " refused: " + last.last_error +
                                   (last.last_error.find("not a member") != std::string::npos
                                      ? " (was this node invited, and has the owner synced the invitation there?)"
                                      : "")});
    }
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(a.timeout_s)) {
      (*h)->stop();
      h->reset();
      j.refuse({errc::timeout, "not synced with " + url + " after " + std::to_string(a.timeout_s) + " s: " +
                                 (last.last_error.empty() ? "not caught up" : last.last_error)});
    }
  }
  (*h)->stop();
  h->reset();

  // ---- what was fetched against what the token says
  auto list = j.db().access();
  if (!list)
    j.refuse(list.error());
  if (list->empty())
    j.refuse({errc::forbidden, "the peer at " + url + " holds no access list for '" + t.database +
                                 "' (has the owner synced the invitation there?)"});
  if (*list->owner() != t.owner)
    j.refuse({errc::forbidden, "the database '" + t.database + "' the peer at " + url + " serves is owned by node " +
                                 list->owner_id().to_hex() + ", but the token names owner " + t.owner_id().to_hex() +
                                 ": another database under the same name (a substituted or forged one?)"});
  auto rights = list->rights_of(self.id);
  if (rights == access_rights::none)
    j.refuse({errc::forbidden, "this node (" + self.id.to_hex() + ") is not a member of '" + t.database +
                                 "' in the owner's access list (revoked, or not granted yet?)"});
  if (rights < t.rights)
    j.refuse({errc::forbidden, std::string("this node has rights ") + to_string(rights) + " on '" + t.database +
                                 "', the token says " + to_string(t.rights) + " (lowered since the invitation?)"});
  if (list->is_sealed() != t.sealed)
    j.refuse({errc::forbidden, std::string("the access list is ") + (list->is_sealed() ? "sealed" : "plaintext") +
                                 ", the token says " + (t.sealed ? "sealed" : "plaintext")});
  std::vector<uint32_t> epochs;
  if (list->is_sealed() && can_read(rights)) {
    auto ring = keyring::unlock(*list, self.id, *self.exchange);
    auto key = ring.sealing_key(*list);
    if (!key) {
      std::string problems;
      for (auto& p : ring.problems())
        problems += "; " + p;
      j.refuse({errc::forbidden, "this node cannot unlock the current content key (epoch " +
                                   std::to_string(list->epoch()) + ") of '" + t.database +
                                   "': " + key.error().message + problems});
    }
    epochs = ring.epochs();
  }

  // ---- the summary
  auto st = j.db().status_info();
  if (!st)
    fail(st.error());
  uint64_t records = visible_records(j.db());
  std::string keep = "blazedb --db " + t.database + " sync " + url + " --follow";
  if (a.json) {
    nlohmann::ordered_json o;
    o["database"] = t.database;
    o["url"] = url;
    o["owner"] = list->owner_id().to_hex();
    o["owner_key"] = hex_of(list->owner()->view());
    o["member"] = self.id.to_hex();
    o["rights"] = to_string(rights);
    o["sealed"] = list->is_sealed();
    o["epoch"] = list->epoch();
    o["keys"] = epochs;
    o["operations"] = st->operations;
    o["records"] = records;
    o["keep_syncing"] = keep;
    print_json_line(o.dump());
  } else {
    std::cout << "joined " << t.database << " from " << url << '\n'
              << "  owner      " << list->owner_id().to_hex() << " (key " << hex_of(list->owner()->view())
              << ", as the token says)\n"
              << "  rights     " << to_string(rights) << (rights > t.rights ? " (more than the token's)" : "") << '\n'
              << "  sealed     "
              << (list->is_sealed()
                    ? (can_read(rights) ? "yes, end-to-end encrypted; this node holds the key of epoch " +
                                            std::to_string(list->epoch())
                                        : std::string("yes, end-to-end encrypted; relay rights: no key"))
                    : std::string("no (plaintext: the servers it syncs with can read it)"))
              << '\n'
              << "  operations " << st->operations << '\n'
              << "  records    " << records << " visible\n"
              << "keep syncing with: " << keep << '\n';
  }
  return exit_ok;
}

} // namespace blaze::cli

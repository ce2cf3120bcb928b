#include "bench/bench.hpp"
#include "bench/suite.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace blaze {

namespace bench {

std::string target::text() const {
  auto num = [](double x) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", x);
    return std::string(buf);
  };
  switch (k) {
    case kind::below: return "<" + num(threshold);
    case kind::at_most: return "<=" + num(threshold);
    case kind::at_least: return ">=" + num(threshold);
    case kind::none: break;
  }
  return "";
}

bool target::met(double v) const {
  switch (k) {
    case kind::below: return v < threshold;
    case kind::at_most: return v <= threshold;
    case kind::at_least: return v >= threshold;
    case kind::none: break;
  }
  return true;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, x);
  return buf;
}

} // namespace

void report(const figure& f) {
  double v = median(f.samples);
  auto [lo, hi] = std::minmax_element(f.samples.begin(), f.samples.end());
  std::string line = "{\"figure\":" + json_string(f.name) + ",\"value\":" + json_number(v, f.decimals) +
                     ",\"unit\":" + json_string(f.unit) + ",\"target\":" +
                     (f.goal.k == target::kind::none ? std::string("null") : json_string(f.goal.text())) +
                     ",\"runs\":" + std::to_string(f.samples.size());
  if (!f.samples.empty())
    line += ",\"min\":" + json_number(*lo, f.decimals) + ",\"max\":" + json_number(*hi, f.decimals);
  if (f.goal.k != target::kind::none)
    line += std::string(",\"met\":") + (f.goal.met(v) ? "true" : "false");
  if (!f.note.empty())
    line += ",\"note\":" + json_string(f.note);
  line += "}\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen))
    return "unknown";
  return one + " " + five + " " + fifteen;
}

void progress(const std::string& line) {
  std::cerr << "bench: " << line << std::endl;
}

temp_dir::temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("cannot create a temporary directory under /tmp");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace bench

int run_bench(const std::vector<std::string>& args) {
  auto usage = [] {
    std::cerr << "usage: bench <suite> [--quick] [--runs N] [--only GROUP]\n"
                 "suites:\n"
                 "  local   write latency, batched/async throughput vs raw RocksDB, field merges\n"
                 "          (groups: latency, batched, async, merges, sync)\n"
                 "  sync    sync over TCP loopback: initial sync, propagation through a relay, wire bytes\n"
                 "          per update, many sessions on one relay, thousands of databases on one relay,\n"
                 "          loopback TCP reference (groups: loopback, initial, propagation, wire, relay, hosting)\n"
                 "  crypto  Ed25519 sign/verify, hash chain verification, AES-256-GCM seal/open, key wrap,\n"
                 "          sealed bytes, SHA-256 reference (groups: ed25519, chain, aead, wrap, reference)\n"
                 "  e2e     end-to-end encryption: sign/verify and seal/open rates, initial sync over TCP\n"
                 "          open vs plaintext list vs sealed list, live propagation plaintext vs sealed, wire\n"
                 "          bytes per one-field update plaintext vs sealed (groups: rates, sync, propagation, wire)\n"
                 "  groups  cross-database transactions/s vs single-database writes, commit to remote\n"
                 "          visibility (groups: txn, visibility)\n";
  };
  if (args.empty()) {
    usage();
    return 2;
  }
  bench::options opts;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--quick") {
      opts.quick = true;
    } else if (args[i] == "--runs" && i + 1 < args.size()) {
      char* end = nullptr;
      long n = std::strtol(args[++i].c_str(), &end, 10);
      if (!end || *end || n < 1 || n > 1000) {
        std::cerr << "bench: --runs needs a number from 1 to 1000\n";
        return 2;
      }
      opts.runs = static_cast<int>(n);
    } else if (args[i] == "--only" && i + 1 < args.size()) {
      opts.only = args[++i];
    } else {
      std::cerr << "bench: unknown option '" << args[i] << "'\n";
      usage();
      return 2;
    }
  }
  const std::vector<std::string> groups =
    args[0] == "sync"     ? std::vector<std::string>{"loopback", "initial", "propagation", "wire", "relay", "hosting"}
    : args[0] == "crypto" ? std::vector<std::string>{"ed25519", "chain", "aead", "wrap", "reference"}
    : args[0] == "e2e"    ? std::vector<std::string>{"rates", "sync", "propagation", "wire"}
    : args[0] == "groups" ? std::vector<std::string>{"txn", "visibility"}
                          : std::vector<std::string>{"latency", "batched", "async", "merges", "sync"};
  if (!opts.only.empty() && std::find(groups.begin(), groups.end(), opts.only) == groups.end()) {
    std::cerr << "bench: unknown group '" << opts.only << "'\n";
    usage();
    return 2;
  }
  bool runs_given = std::find(args.begin(), args.end(), "--runs") != args.end();
  if (opts.quick && !runs_given)
    opts.runs = 3;
  try {
    if (args[0] == "local")
      return bench::run_local(opts);
    if (args[0] == "sync")
      return bench::run_sync(opts);
    if (args[0] == "crypto")
      return bench::run_crypto(opts);
    if (args[0] == "e2e")
      return bench::run_e2e(opts);
    if (args[0] == "groups")
      return bench::run_groups(opts);
  } catch (const std::exception& e) {
    std::cerr << "bench: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "bench: unknown suite '" << args[0] << "'\n";
  usage();
  return 2;
}

} // namespace blaze

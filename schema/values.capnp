@0xb1a2e0db00000001;
# Values, identifiers and timestamps: the building blocks of every BlazeDB
# wire and storage format. Field order is part of the format: append only.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("blaze::schema");

# A 128-bit identifier (node id, record id), as two big-endian halves.
struct Id128 {
  hi @0 :UInt64;
  lo @1 :UInt64;
}

# A hybrid-logical timestamp: (counter, node) ordered lexicographically.
# counter = physical milliseconds << 16 | logical count.
struct Timestamp {
  counter @0 :UInt64;
  node @1 :Id128;
}

# An operation's identity: the origin node and its gap-free sequence number.
struct Dot {
  origin @0 :Id128;
  seq @1 :UInt64;
}

# A document value (the seed's BlazeDocumentField).
struct Value {
  union {
    null @0 :Void;
    bool @1 :Bool;
    int @2 :Int64;
    double @3 :Float64;
    string @4 :Text;
    bytes @5 :Data;
    timestamp @6 :Int64;     # microseconds since the Unix epoch
    uuid @7 :Id128;
    array @8 :List(Value);
    map @9 :List(Entry);     # keys sorted, unique
  }
  struct Entry {
    key @0 :Text;
    value @1 :Value;
  }
}

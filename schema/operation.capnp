@0xb1a2e0db00000002;
# An operation: the unit of replication. Stored in the oplog column family
# and (from the sync issue on) sent between replicas.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("blaze::schema");
using V = import "values.capnp";

struct Operation {
  dot @0 :V.Dot;
  timestamp @1 :UInt64;          # HLC counter; the timestamp's node is dot.origin
  collection @2 :Text;
  record @3 :V.Id128;
  union {
    upsert @4 :List(FieldOp);    # insert/update: creates or resurrects the record
    delete @5 :List(CounterObservation);   # tombstone; counters it observed
    createIndex @6 :Text;        # field name
    dropIndex @7 :Text;          # field name
    sealed @8 :Sealed;           # end-to-end encrypted (core/sealed_op.hpp)
  }
  txn @9 :TxnTag;                # set when the operation belongs to a cross-database transaction
}

# The transaction an operation belongs to (docs/transactions.md): its id and
# every part (database, operation count). A replica makes a transaction's
# operations visible only once every part it hosts has arrived.
struct TxnTag {
  id @0 :V.Id128;
  parts @1 :List(TxnPart);
}

struct TxnPart {
  database @0 :Text;
  ops @1 :UInt32;
}

# A sealed operation's payload: crypto::seal of the inner operation under the
# database's content key (docs/security.md, "Sealed operations"). The outer
# Operation keeps dot, timestamp and collection in clear; record is zero.
struct Sealed {
  box @0 :Data;
}

# One field mutation inside an upsert.
struct FieldOp {
  field @0 :Text;
  base @1 :V.Timestamp;          # LWW set: timestamp of the value it overwrote (0 = none)
  union {
    set @2 :V.Value;             # last-writer-wins register
    increment @3 :Int64;         # PN-counter delta (may be negative)
    add @4 :V.Value;             # OR-set add; the tag is the operation's dot
    remove @5 :Remove;           # OR-set remove of the observed tags
  }
  struct Remove {
    element @0 :V.Value;
    observed @1 :List(V.Dot);
  }
}

# A delete cancels the counter contributions its origin had observed:
# per counter field and contributing origin, the totals seen.
struct CounterObservation {
  field @0 :Text;
  origin @1 :V.Id128;
  positive @2 :UInt64;
  negative @3 :UInt64;
}

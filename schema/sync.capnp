@0xb1a2e0db00000010;
# The sync protocol (DESIGN §7, docs/protocol.md): every message on a link is
# one Envelope. Field order is part of the format: append only.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("blaze::schema");
using V = import "values.capnp";

# One entry of a version vector: every operation of `origin` with
# seq 1..seq is held.
struct VersionEntry {
  origin @0 :V.Id128;
  seq @1 :UInt64;
}

# Per origin, a range of sequence numbers (after, through]: the sender vouches
# that every operation of `origin` in the range that matches the receiver's
# collection filter is in this batch.
#
# Signed operations (docs/protocol.md §5b): `link` and `signature` are the
# origin's signed chain head at seq `through` (one Ed25519 signature vouches
# for every operation of the origin up to there), `originKey` the origin's
# Ed25519 key (its node id is the first 16 bytes of SHA-256 of the key). A
# receiver verifies the range before applying any of it. `skipped` holds,
# 32 bytes each in seq order, the SHA-256 of every operation of the range
# the batch leaves out (it does not match the receiver's collections), so
# the receiver can still recompute the chain. In a Snapshot's `heads`,
# `after` is unused and `through` is the head's seq.
struct OpRange {
  origin @0 :V.Id128;
  after @1 :UInt64;
  through @2 :UInt64;
  link @3 :Data;        # 32 bytes: the chain link at `through`
  signature @4 :Data;   # 64 bytes: Ed25519 over the head (docs/security.md §1)
  originKey @5 :Data;   # 32 bytes
  skipped @6 :Data;     # 32 bytes per operation left out
}

struct Envelope {
  protocolVersion @0 :UInt16;
  union {
    hello @1 :Hello;
    welcome @2 :Welcome;
    syncRequest @3 :SyncRequest;
    opBatch @4 :OpBatch;
    caughtUp @5 :CaughtUp;
    ack @6 :Ack;
    error @7 :Error;
    ping @8 :Ping;
    snapshot @9 :Snapshot;
    auth @10 :Auth;
  }
}

# Sent by the connecting side.
struct Hello {
  node @0 :V.Id128;              # first 16 bytes of SHA-256(publicKey)
  database @1 :Text;
  zstd @2 :Bool;                 # the sender accepts zstd-compressed batches
  snapshots @3 :Bool;            # the sender accepts Snapshot messages
  publicKey @4 :Data;            # the sender's Ed25519 node key (32 bytes)
  challenge @5 :Data;            # 32 fresh random bytes the Welcome must sign
  tls @6 :Bool;                  # the sender's connection is TLS: when both say so, the
                                 # transcript binds the TLS channel (docs/protocol.md §3)
}

# The accepting side's answer to Hello.
struct Welcome {
  node @0 :V.Id128;
  database @1 :Text;
  zstd @2 :Bool;
  snapshots @3 :Bool;
  publicKey @4 :Data;
  challenge @5 :Data;            # 32 fresh random bytes the Auth must sign
  signature @6 :Data;            # Ed25519 over the handshake transcript (docs/protocol.md §3)
  tls @7 :Bool;                  # as Hello.tls
}

# The connecting side's proof of its key, after a valid Welcome.
struct Auth {
  signature @0 :Data;            # Ed25519 over the handshake transcript
}

# "Send me what I lack": the requester's version vector; collections empty
# means all collections.
struct SyncRequest {
  database @0 :Text;
  collections @1 :List(Text);
  versionVector @2 :List(VersionEntry);
}

struct OpBatch {
  database @0 :Text;
  ranges @1 :List(OpRange);
  union {
    ops @2 :List(Data);          # each an encoded Operation (packed Cap'n Proto)
    compressed @3 :Compressed;   # zstd of an OpList message
    sealed @4 :SealedOps;        # every operation sealed and outside transactions
  }
}

# The operations of a batch that are all sealed (end-to-end encrypted) and
# carry no transaction tag, without the per-operation Cap'n Proto framing
# (docs/protocol.md §4a). Each is rebuilt as the Operation {dot, timestamp,
# collection, sealed box} and encoded again: the sender uses this form only
# when that gives back exactly the bytes it logged, so chains verify as
# they would from `ops`.
struct SealedOps {
  origins @0 :List(V.Id128);     # distinct origins, by first appearance
  collections @1 :List(Text);    # distinct collections, by first appearance
  # Per operation, in batch order, unsigned LEB128 varints (shortest form):
  #   origin index, collection index,
  #   seq: the first of an origin in full, then the difference to the
  #        previous seq of that origin (>= 1),
  #   timestamp: the first of an origin in full, then zigzag(difference to
  #        the previous timestamp of that origin),
  #   box size, then the box bytes.
  data @2 :Data;
}

# zstd frame of a standard (unpacked, segment table) Cap'n Proto message whose
# root is an OpList; rawSize is its decompressed size in bytes.
struct Compressed {
  rawSize @0 :UInt32;
  data @1 :Data;
}

struct OpList {
  ops @0 :List(Data);
}

# The sender has sent everything the requester lacked at the time.
struct CaughtUp {
  database @0 :Text;
  versionVector @1 :List(VersionEntry);
}

# The receiver's version vector after applying a batch or a snapshot chunk.
struct Ack {
  database @0 :Text;
  versionVector @1 :List(VersionEntry);
  snapshotChunk @2 :UInt32;      # 0: answers an OpBatch; n > 0: answers Snapshot chunk n - 1
}

enum ErrorCode {
  none @0;
  versionMismatch @1;    # protocolVersion not supported; the link closes
  unexpected @2;         # message not valid in the current state; the link closes
  corrupt @3;            # undecodable envelope or operation; the link closes
  unknownDatabase @4;    # database not served on this link; the link closes
  refused @5;            # an operation failed validation or applying; the link closes
  timeout @6;            # nothing heard from the peer for too long; the link closes
  unauthenticated @7;    # the peer's node key, Welcome or Auth signature does not check; the link closes
  forbidden @8;          # the database's access list does not allow the peer this (docs/security.md §4.3); the link closes
}

struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
}

# Keepalive; needs no answer.
struct Ping {
  nonce @0 :UInt64;
}

# One chunk of a snapshot (docs/protocol.md §5a): the sender's materialized
# record states at one consistent point, which cover every operation of the
# prefixes in versionVector (of the requester's collections). Sent instead of
# operations the sender no longer has (its log was compacted).
struct Snapshot {
  database @0 :Text;
  versionVector @1 :List(VersionEntry);  # the point: same in every chunk of one snapshot
  chunk @2 :UInt32;                      # 0, 1, 2, ... within the snapshot
  last @3 :Bool;                         # no chunk follows this one
  indexes @4 :List(IndexDeclaration);    # chunk 0 only
  union {
    entries @5 :List(SnapshotEntry);
    compressed @6 :Compressed;           # zstd of an EntryList message
  }
  heads @7 :List(OpRange);               # chunk 0 only: per origin, its signed head at versionVector's seq
}

struct SnapshotEntry {
  collection @0 :Text;
  record @1 :V.Id128;
  state @2 :Data;                # a RecordState message (schema/record.capnp), packed
}

# The state of an index declaration (create_index/drop_index: later wins).
struct IndexDeclaration {
  collection @0 :Text;
  field @1 :Text;
  created @2 :V.Timestamp;       # zero: never created
  dropped @3 :V.Timestamp;       # zero: never dropped
}

struct EntryList {
  entries @0 :List(SnapshotEntry);
}

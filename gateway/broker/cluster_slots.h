// Redis Cluster addressing, pure (no I/O): the hash slot of a key (CRC16 of its hash tag,
// as Redis computes it), the slot map read from CLUSTER SLOTS, and the MOVED / ASK
// redirections a node answers with when it does not serve a slot (any more).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/redis_link.h"

namespace sluice::broker {

inline constexpr uint16_t kClusterSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum Redis uses.
uint16_t crc16(std::string_view data);
// The slot Redis gives a key (or a sharded channel): of the text between the first '{' and
// the first '}' after it when that is not empty, else of the whole key.
uint16_t key_hash_slot(std::string_view key);

// A node as CLUSTER SLOTS names it: "host:port" is its identity in the map.
struct ClusterNode {
    std::string host;
    int port = 0;
    std::string address() const { return host + ":" + std::to_string(port); }
    bool operator==(const ClusterNode& o) const { return host == o.host && port == o.port; }
};

// Which master serves each slot. An empty address: no master known for the slot.
class SlotMap {
  public:
    bool empty() const { return masters_.empty(); }
    // The master of a slot, or nullptr.
    const ClusterNode* master_of(uint16_t slot) const;
    // Every master serving at least one slot, each once, in slot order.
    const std::vector<ClusterNode>& masters() const { return masters_; }
    // True when every slot has a master.
    bool complete() const;
    // A MOVED answer: the slot is now served by `node` (until the next full read).
    void move(uint16_t slot, const ClusterNode& node);
    bool operator==(const SlotMap& o) const { return owner_ == o.owner_ && masters_ == o.masters_; }

    // From a CLUSTER SLOTS reply. `asked` is the node that answered: Redis names itself
    // with an empty (or "?") host when it does not know its own address. nullopt if the
    // reply is not a slot table (an error, a node without cluster support).
    static std::optional<SlotMap> from_cluster_slots(const RedisValue& reply, const ClusterNode& asked);

  private:
    int16_t index_of(const ClusterNode& node);
    std::vector<int16_t> owner_ = std::vector<int16_t>(kClusterSlots, -1);  // into masters_
    std::vector<ClusterNode> masters_;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" error replies.
struct Redirect {
    bool ask = false;  // ASK: this one command goes to `node` after ASKING; MOVED: for good
    uint16_t slot = 0;
    ClusterNode node;
};
std::optional<Redirect> parse_redirect(std::string_view error);

// Error replies after which the same command may succeed once the cluster settles
// (a failover or a resharding in progress): CLUSTERDOWN, TRYAGAIN, MASTERDOWN, LOADING.
bool is_transient_cluster_error(std::string_view error);

}  // namespace sluice::broker

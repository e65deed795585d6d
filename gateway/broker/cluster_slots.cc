#include "gateway/broker/cluster_slots.h"

#include <charconv>

namespace sluice::broker {
namespace {

std::optional<int> parse_int(std::string_view s) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<ClusterNode> node_of(const RedisValue& v, const ClusterNode& asked) {
    if (v.type != RedisValue::Type::Array || v.elements.size() < 2) return std::nullopt;
    const RedisValue& host = v.elements[0];
    const RedisValue& port = v.elements[1];
    if (host.type != RedisValue::Type::String || port.type != RedisValue::Type::Integer ||
        port.integer <= 0 || port.integer > 65535)
        return std::nullopt;
    ClusterNode n;
    // "" or "?": the node does not know its address; it is the one we asked.
    n.host = host.str.empty() || host.str == "?" ? asked.host : host.str;
    n.port = static_cast<int>(port.integer);
    return n;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

uint16_t crc16(std::string_view data) {
    uint16_t crc = 0;
    for (unsigned char byte : data) {
        crc ^= static_cast<uint16_t>(byte) << 8;
        for (int i = 0; i < 8; ++i)
            crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                 : static_cast<uint16_t>(crc << 1);
    }
    return crc;
}

uint16_t key_hash_slot(std::string_view key) {
    size_t open = key.find('{');
    if (open != std::string_view::npos) {
        size_t close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return crc16(key) & (kClusterSlots - 1);
}

const ClusterNode* SlotMap::master_of(uint16_t slot) const {
    if (slot >= kClusterSlots) return nullptr;
    int16_t i = owner_[slot];
    return i < 0 ? nullptr : &masters_[static_cast<size_t>(i)];
}

bool SlotMap::complete() const {
    for (int16_t i : owner_)
        if (i < 0) return false;
    return true;
}

int16_t SlotMap::index_of(const ClusterNode& node) {
    for (size_t i = 0; i < masters_.size(); ++i)
        if (masters_[i] == node) return static_cast<int16_t>(i);
    masters_.push_back(node);
    return static_cast<int16_t>(masters_.size() - 1);
}

void SlotMap::move(uint16_t slot, const ClusterNode& node) {
    if (slot >= kClusterSlots) return;
    owner_[slot] = index_of(node);
}

std::optional<SlotMap> SlotMap::from_cluster_slots(const RedisValue& reply, const ClusterNode& asked) {
    if (reply.type != RedisValue::Type::Array) return std::nullopt;
    SlotMap map;
    for (const RedisValue& range : reply.elements) {
        if (range.type != RedisValue::Type::Array || range.elements.size() < 3) return std::nullopt;
        const RedisValue& from = range.elements[0];
        const RedisValue& to = range.elements[1];
        if (from.type != RedisValue::Type::Integer || to.type != RedisValue::Type::Integer ||
            from.integer < 0 || to.integer < from.integer || to.integer >= kClusterSlots)
            return std::nullopt;
        auto master = node_of(range.elements[2], asked);
        if (!master) return std::nullopt;
        int16_t index = map.index_of(*master);
        for (long long s = from.integer; s <= to.integer; ++s) map.owner_[static_cast<size_t>(s)] = index;
    }
    return map;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
    Redirect r;
    if (starts_with(error, "MOVED ")) error.remove_prefix(6);
    else if (starts_with(error, "ASK ")) {
        error.remove_prefix(4);
        r.ask = true;
    } else {
        return std::nullopt;
    }
    size_t space = error.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto slot = parse_int(error.substr(0, space));
    std::string_view address = error.substr(space + 1);
    size_t colon = address.rfind(':');  // an IPv6 address has colons of its own
    if (!slot || *slot < 0 || *slot >= kClusterSlots || colon == std::string_view::npos) return std::nullopt;
    auto port = parse_int(address.substr(colon + 1));
    std::string_view host = address.substr(0, colon);
    if (!port || *port <= 0 || *port > 65535 || host.empty()) return std::nullopt;
    r.slot = static_cast<uint16_t>(*slot);
    r.node.host = std::string(host);
    r.node.port = *port;
    return r;
}

bool is_transient_cluster_error(std::string_view error) {
    return starts_with(error, "CLUSTERDOWN") || starts_with(error, "TRYAGAIN") ||
           starts_with(error, "MASTERDOWN") || starts_with(error, "LOADING");
}

}  // namespace sluice::broker

// Redis Cluster addressing: CRC16 and key slots (the same numbers CLUSTER KEYSLOT gives,
// checked against a real cluster in tests/integration/test_redis_cluster.py), the slot map
// from CLUSTER SLOTS, and MOVED / ASK parsing.
#include <catch2/catch.hpp>

#include "gateway/broker/cluster_slots.h"

using namespace sluice::broker;

namespace {

RedisValue integer(long long v) {
    RedisValue r;
    r.type = RedisValue::Type::Integer;
    r.integer = v;
    return r;
}

RedisValue string(std::string s) {
    RedisValue r;
    r.type = RedisValue::Type::String;
    r.str = std::move(s);
    return r;
}

RedisValue array(std::vector<RedisValue> items) {
    RedisValue r;
    r.type = RedisValue::Type::Array;
    r.elements = std::move(items);
    return r;
}

RedisValue node(const std::string& host, long long port) {
    return array({string(host), integer(port), string("0123abcd")});
}

}  // namespace

TEST_CASE("crc16 is CRC16-CCITT (XMODEM), as in the Redis Cluster specification", "[broker][cluster]") {
    CHECK(crc16("123456789") == 0x31C3);  // the spec's check value
    CHECK(crc16("") == 0);
}

TEST_CASE("key_hash_slot hashes the hash tag when there is one", "[broker][cluster]") {
    // Values as CLUSTER KEYSLOT answers them.
    CHECK(key_hash_slot("foo") == 12182);
    CHECK(key_hash_slot("bar") == 5061);
    CHECK(key_hash_slot("{user1000}.following") == key_hash_slot("user1000"));
    CHECK(key_hash_slot("sluice:{analysis:42}:seq") == key_hash_slot("analysis:42"));
    CHECK(key_hash_slot("sluice:seq:{analysis:42}") == key_hash_slot("analysis:42"));
    // An empty tag, or a brace never closed, hashes the whole key.
    CHECK(key_hash_slot("foo{}{bar}") == crc16("foo{}{bar}") % 16384);
    CHECK(key_hash_slot("foo{bar") == crc16("foo{bar") % 16384);
    // Only the first tag counts.
    CHECK(key_hash_slot("{a}{b}") == key_hash_slot("a"));
    CHECK(key_hash_slot("{{a}}") == crc16("{a") % 16384);
}

TEST_CASE("a CLUSTER SLOTS reply becomes a map of masters", "[broker][cluster]") {
    auto reply = array({
        array({integer(0), integer(5460), node("127.0.0.1", 7000), node("127.0.0.1", 7004)}),
        array({integer(5461), integer(10922), node("", 7001)}),  // "": the node asked
        array({integer(10923), integer(16383), node("127.0.0.1", 7002)}),
    });
    auto map = SlotMap::from_cluster_slots(reply, ClusterNode{"10.1.1.1", 7001});
    REQUIRE(map);
    CHECK(map->complete());
    REQUIRE(map->masters().size() == 3);
    CHECK(map->master_of(0)->address() == "127.0.0.1:7000");
    CHECK(map->master_of(5460)->address() == "127.0.0.1:7000");
    CHECK(map->master_of(5461)->address() == "10.1.1.1:7001");
    CHECK(map->master_of(16383)->address() == "127.0.0.1:7002");
    CHECK(map->master_of(16384) == nullptr);

    // MOVED corrects one slot; the node joins the masters.
    map->move(0, ClusterNode{"127.0.0.1", 7004});
    CHECK(map->master_of(0)->address() == "127.0.0.1:7004");
    CHECK(map->master_of(1)->address() == "127.0.0.1:7000");
    CHECK(map->masters().size() == 4);
}

TEST_CASE("a map with uncovered slots is not complete", "[broker][cluster]") {
    auto map = SlotMap::from_cluster_slots(array({array({integer(0), integer(100), node("h", 1)})}),
                                           ClusterNode{"h", 1});
    REQUIRE(map);
    CHECK_FALSE(map->complete());
    CHECK(map->master_of(101) == nullptr);
}

TEST_CASE("what is not a slot table is refused", "[broker][cluster]") {
    ClusterNode asked{"h", 1};
    CHECK_FALSE(SlotMap::from_cluster_slots(RedisValue::error("ERR This instance has cluster support disabled"), asked));
    CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(5), integer(1), node("h", 1)})}), asked));
    CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(0), integer(16384), node("h", 1)})}), asked));
    CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(0), integer(1), node("h", 0)})}), asked));
    CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(0), integer(1)})}), asked));
    CHECK_FALSE(SlotMap::from_cluster_slots(array({array({string("0"), integer(1), node("h", 1)})}), asked));
    // An empty table parses (a cluster without slots assigned yet) but is empty.
    auto empty = SlotMap::from_cluster_slots(array({}), asked);
    REQUIRE(empty);
    CHECK(empty->empty());
}

TEST_CASE("MOVED and ASK errors name the slot and the node", "[broker][cluster]") {
    auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
    REQUIRE(moved);
    CHECK_FALSE(moved->ask);
    CHECK(moved->slot == 3999);
    CHECK(moved->node.address() == "127.0.0.1:6381");
    auto ask = parse_redirect("ASK 12 ::1:7000");
    REQUIRE(ask);
    CHECK(ask->ask);
    CHECK(ask->node.host == "::1");
    CHECK(ask->node.port == 7000);
    CHECK_FALSE(parse_redirect("ERR unknown command"));
    CHECK_FALSE(parse_redirect("MOVED 16384 h:1"));
    CHECK_FALSE(parse_redirect("MOVED 1 h:0"));
    CHECK_FALSE(parse_redirect("MOVED 1 :7000"));
    CHECK_FALSE(parse_redirect("MOVED x h:1"));
    CHECK_FALSE(parse_redirect("MOVED 1"));
}

TEST_CASE("errors of a cluster that is settling are told apart", "[broker][cluster]") {
    CHECK(is_transient_cluster_error("CLUSTERDOWN The cluster is down"));
    CHECK(is_transient_cluster_error("TRYAGAIN Multiple keys request during rehashing of slot"));
    CHECK(is_transient_cluster_error("LOADING Redis is loading the dataset in memory"));
    CHECK_FALSE(is_transient_cluster_error("ERR wrong number of arguments"));
    CHECK_FALSE(is_transient_cluster_error("MOVED 1 h:1"));
}

#include "gateway/broker/cluster_client.h"

#include <algorithm>

#include "gateway/core/log.h"

namespace sluice::broker {

namespace {
// A key moved twice in a row is a resharding under way; more is a loop between nodes.
constexpr int kMaxRedirects = 5;
// How often parked reads are tried again while their master is unreachable.
constexpr std::chrono::milliseconds kParkedRetry{200};

void uv_cluster_timer_cb(uv_timer_t* t) noexcept;

RedisValue down_error(const char* why = kLinkDownError) { return RedisValue::error(why); }
}  // namespace

struct ClusterClientTimer {
    static void fire(ClusterClient* c) { c->on_timer(); }
};

namespace {
void uv_cluster_timer_cb(uv_timer_t* t) noexcept {
    auto* c = static_cast<ClusterClient*>(t->data);
    if (!c) return;
    try {
        ClusterClientTimer::fire(c);
    } catch (const std::exception& e) {
        log::error("cluster client timer failed", {{"error", e.what()}});
    }
}
}  // namespace

ClusterClient::ClusterClient(uv_loop_t* loop, Options opts) : loop_(loop), opts_(std::move(opts)) {}

ClusterClient::~ClusterClient() { life_.end(); }

RedisEndpoint ClusterClient::endpoint(const ClusterNode& node) const {
    RedisEndpoint ep = opts_.seeds.empty() ? RedisEndpoint{} : opts_.seeds.front();
    ep.host = node.host;
    ep.port = node.port;
    ep.unix_path.clear();
    ep.db = 0;
    return ep;
}

void ClusterClient::start(Callbacks cb) {
    cb_ = std::move(cb);
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    for (const auto& seed : opts_.seeds) node(ClusterNode{seed.host, seed.port});
    map_wanted_ = true;  // the first seed link that is up reads the map
    arm_timer(opts_.refresh_every);
}

void ClusterClient::stop(std::function<void()> done) {
    stopped_ = true;
    life_.end();
    // Everything waiting is answered before stop() returns, as RedisLink::stop does.
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& req : parked) req->fn(down_error());
    for (auto& [addr, nd] : nodes_) {
        auto waiting = std::move(nd.waiting);
        nd.waiting.clear();
        for (auto& fn : waiting) fn();  // each sees stopped_ and fails its request
    }
    auto remaining = std::make_shared<size_t>(nodes_.size() + retired_.size() + (timer_ ? 1 : 0));
    auto one = [remaining, done] {
        if (--*remaining == 0 && done) done();
    };
    if (*remaining == 0) {
        if (done) done();
        return;
    }
    if (timer_) {
        uv_timer_stop(timer_);
        timer_->data = new std::function<void()>(one);
        uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) noexcept {
            auto* fn = static_cast<std::function<void()>*>(h->data);
            delete reinterpret_cast<uv_timer_t*>(h);
            (*fn)();
            delete fn;
        });
        timer_ = nullptr;
    }
    for (auto& [addr, nd] : nodes_) nd.link->stop(one);
    for (auto& r : retired_) r->link->stop(one);
}

ClusterClient::Node* ClusterClient::node(const ClusterNode& n) {
    if (stopped_) return nullptr;
    std::string addr = n.address();
    auto it = nodes_.find(addr);
    if (it != nodes_.end()) return &it->second;
    Node& nd = nodes_[addr];
    nd.where = n;
    RedisLink::Callbacks cb;
    auto alive = life_.token();
    cb.on_ready = [this, alive, addr] {
        if (alive) on_node_ready(addr);
    };
    cb.on_down = [this, alive, addr](const std::string&) {
        if (alive) on_node_down(addr);
    };
    nd.link = std::make_unique<RedisLink>(loop_, endpoint(n), opts_.backoff, opts_.name + "@" + addr,
                                          std::move(cb));
    nd.link->start();
    return &nd;
}

void ClusterClient::send(const std::string& key, const std::vector<std::string>& argv,
                         RedisLink::ReplyFn fn, Retry retry) {
    auto req = std::make_shared<Request>();
    req->key = key;
    req->argv = argv;
    req->fn = std::move(fn);
    req->retry = retry;
    dispatch(req);
}

void ClusterClient::dispatch(const RequestPtr& req) {
    if (stopped_) return req->fn(down_error());
    const ClusterNode* master = map_.master_of(key_hash_slot(req->key));
    if (!master) {
        if (req->retry == Retry::UntilSent) return park(req);
        return req->fn(down_error(map_.empty() ? "ERR no cluster slot map yet" : "CLUSTERDOWN slot has no master"));
    }
    send_to(req, *master, false);
}

void ClusterClient::send_to(const RequestPtr& req, const ClusterNode& target, bool asking) {
    Node* nd = node(target);
    if (!nd) return req->fn(down_error());
    LinkState state = nd->link->state();
    if (state == LinkState::Connecting || state == LinkState::Authenticating ||
        state == LinkState::Disconnected) {
        nd->waiting.push_back([this, req, target, asking] {
            if (stopped_) return req->fn(down_error());
            send_to(req, target, asking);
        });
        return;
    }
    if (state != LinkState::Ready) {
        // The master is unreachable: a failover may be under way.
        refresh();
        if (req->retry == Retry::UntilSent) return park(req);
        return req->fn(down_error());
    }
    // ASK: this one command is served by the importing node, announced by ASKING on the
    // same connection just before it.
    if (asking) nd->link->command({"ASKING"}, [](const RedisValue&) {});
    nd->link->command(req->argv, [this, req](const RedisValue& reply) { on_reply(req, reply); });
}

void ClusterClient::on_reply(const RequestPtr& req, const RedisValue& reply) {
    if (stopped_ || !reply.is_error()) return req->fn(reply);
    if (auto r = parse_redirect(reply.str)) {
        if (++req->redirects > kMaxRedirects) return req->fn(reply);
        if (!r->ask) {
            map_.move(r->slot, r->node);
            refresh();
        }
        return send_to(req, r->node, r->ask);
    }
    if (reply.str == kLinkDownError || is_transient_cluster_error(reply.str)) {
        refresh();
        if (req->retry == Retry::UntilSent) return park(req);
    }
    req->fn(reply);
}

void ClusterClient::park(const RequestPtr& req) {
    parked_.push_back(req);
    arm_timer(kParkedRetry);
}

void ClusterClient::resend_parked() {
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& req : parked) dispatch(req);
}

void ClusterClient::on_every_master(const std::vector<std::string>& argv, RedisLink::ReplyFn done) {
    const auto& masters = map_.masters();
    if (masters.empty()) return done(down_error("ERR no cluster slot map yet"));
    struct Tally {
        size_t left;
        RedisValue result;
        bool failed = false;
        RedisLink::ReplyFn done;
    };
    auto tally = std::make_shared<Tally>(Tally{masters.size(), {}, false, std::move(done)});
    for (const auto& m : masters) {
        auto req = std::make_shared<Request>();
        req->argv = argv;
        req->fn = [tally](const RedisValue& reply) {
            if (reply.is_error() && !tally->failed) {
                tally->failed = true;
                tally->result = reply;
            } else if (!tally->failed) {
                tally->result = reply;
            }
            if (--tally->left == 0) tally->done(tally->result);
        };
        send_to(req, m, false);
    }
}

void ClusterClient::drop_connection(const std::string& key) {
    const ClusterNode* master = map_.master_of(key_hash_slot(key));
    if (!master) return;
    auto it = nodes_.find(master->address());
    if (it != nodes_.end()) it->second.link->drop_connection();
}

void ClusterClient::refresh() {
    map_wanted_ = true;
    read_map();
}

void ClusterClient::read_map() {
    if (reading_map_ || stopped_ || !map_wanted_) return;
    Node* ask = nullptr;
    for (auto& [addr, nd] : nodes_)
        if (nd.link->ready()) {
            ask = &nd;
            break;
        }
    if (!ask) {
        // Nobody to ask: make sure the seeds and the known masters are being dialled; the
        // first that comes up reads the map (on_node_ready).
        for (const auto& seed : opts_.seeds) node(ClusterNode{seed.host, seed.port});
        for (const auto& m : std::vector<ClusterNode>(map_.masters())) node(m);
        return;
    }
    reading_map_ = true;
    map_wanted_ = false;
    ClusterNode asked = ask->where;
    ask->link->command({"CLUSTER", "SLOTS"}, [this, asked](const RedisValue& reply) {
        if (stopped_) return;
        on_map_reply(asked, reply);
    });
}

void ClusterClient::on_map_reply(const ClusterNode& asked, const RedisValue& reply) {
    reading_map_ = false;
    auto map = SlotMap::from_cluster_slots(reply, asked);
    if (!map || map->empty()) {
        if (reply.str != kLinkDownError)
            log::warn("cannot read the redis cluster slot map",
                      {{"link", opts_.name}, {"node", asked.address()},
                       {"error", reply.is_error() ? reply.str : std::string("not a slot table")}});
        map_wanted_ = true;
        arm_timer(kParkedRetry);
        return;
    }
    bool changed = !(*map == map_);
    if (changed) {
        std::string masters;
        for (const auto& m : map->masters()) masters += (masters.empty() ? "" : " ") + m.address();
        log::info("redis cluster slot map", {{"link", opts_.name}, {"masters", masters},
                                             {"complete", map->complete()}});
        map_ = std::move(*map);
        retire_unused();
        if (cb_.on_ready) cb_.on_ready();
        if (stopped_) return;
        resend_parked();
    }
    if (on_map_read_) on_map_read_(changed);
    if (stopped_) return;
    if (map_wanted_) arm_timer(std::chrono::milliseconds(50));
}

void ClusterClient::retire_unused() {
    std::vector<std::string> unused;
    for (const auto& [addr, nd] : nodes_) {
        const auto& masters = map_.masters();
        if (std::find(masters.begin(), masters.end(), nd.where) == masters.end()) unused.push_back(addr);
    }
    for (const auto& addr : unused) {
        auto it = nodes_.find(addr);
        Node nd = std::move(it->second);
        nodes_.erase(it);
        auto retired = std::make_shared<Retired>();
        retired->link = std::move(nd.link);
        retired_.push_back(retired);
        // Stopping fails its pending commands: reads park, writes get the error.
        std::weak_ptr<Retired> weak = retired;
        auto alive = life_.token();
        retired->link->stop([this, weak, alive] {
            if (auto r = weak.lock()) r->closed = true;
            if (alive) arm_timer(std::chrono::milliseconds(0));
        });
        for (auto& fn : nd.waiting) fn();
    }
}

void ClusterClient::sweep_retired() {
    retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                  [](const std::shared_ptr<Retired>& r) { return r->closed; }),
                   retired_.end());
}

void ClusterClient::on_node_ready(const std::string& address) {
    auto it = nodes_.find(address);
    if (it == nodes_.end()) return;
    auto waiting = std::move(it->second.waiting);
    it->second.waiting.clear();
    for (auto& fn : waiting) fn();
    read_map();
}

void ClusterClient::on_node_down(const std::string& address) {
    auto it = nodes_.find(address);
    if (it != nodes_.end()) {
        auto waiting = std::move(it->second.waiting);
        it->second.waiting.clear();
        for (auto& fn : waiting) fn();
    }
    refresh();
}

void ClusterClient::arm_timer(std::chrono::milliseconds in) {
    if (!timer_ || stopped_) return;
    // An earlier deadline wins over a later one already set.
    uint64_t due = uv_timer_get_due_in(timer_);
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(timer_)) && due <= static_cast<uint64_t>(in.count())) return;
    uv_timer_start(timer_, uv_cluster_timer_cb, static_cast<uint64_t>(in.count()), 0);
}

void ClusterClient::on_timer() {
    if (stopped_) return;
    sweep_retired();
    map_wanted_ = true;
    read_map();
    resend_parked();
    arm_timer(parked_.empty() ? opts_.refresh_every : kParkedRetry);
}

}  // namespace sluice::broker
